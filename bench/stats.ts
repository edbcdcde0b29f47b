/** Small order statistics for the benchmarks: no dependency, linear interpolation between ranks. */

/** The `p`-quantile (0..1) of `values`, interpolating between the two nearest ranks. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (rank - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** `value` relative to `baseline`, in percent: +10 means 10% more. */
export function deltaPercent(value: number, baseline: number): number {
  return ((value - baseline) / baseline) * 100;
}

export function formatDelta(percent: number): string {
  if (Math.abs(percent) < 0.05) return '±0%';
  return `${percent > 0 ? '+' : '−'}${Math.abs(percent).toFixed(1)}%`;
}

/** Fisher–Yates, in place, with `Math.random` (the order only has to vary between rounds). */
export function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    const swap = items[index] as T;
    items[index] = items[other] as T;
    items[other] = swap;
  }
  return items;
}

/** A Markdown table; the first column left-aligned, the others right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, error under 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Two-sided Mann–Whitney U test (normal approximation with tie and continuity corrections):
 * the probability of samples this far apart if both came from the same distribution. Makes
 * no normality assumption, so a few processes slowed by a neighbour do not decide it.
 */
export function mannWhitneyP(first: readonly number[], second: readonly number[]): number {
  const n1 = first.length;
  const n2 = second.length;
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...first.map((value) => ({ value, group: 1 })), ...second.map((value) => ({ value, group: 2 }))].sort(
    (a, b) => a.value - b.value,
  );
  let rankSumFirst = 0;
  let tieTerm = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && all[end + 1]?.value === all[start]?.value) end += 1;
    const ties = end - start + 1;
    const averageRank = (start + end) / 2 + 1;
    for (let index = start; index <= end; index += 1) if (all[index]?.group === 1) rankSumFirst += averageRank;
    tieTerm += ties ** 3 - ties;
    start = end + 1;
  }
  const u = rankSumFirst - (n1 * (n1 + 1)) / 2;
  const expected = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sigma === 0) return 1;
  const z = (Math.abs(u - expected) - 0.5) / sigma;
  return Math.min(1, 2 * (1 - normalCdf(Math.max(0, z))));
}
