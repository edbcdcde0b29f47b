// What the bundled functions need of `semver`: only aws-xray-sdk-core requires it, for one
// call, `semver.gte(AWS.VERSION, minVersion)` in its AWS SDK v2 patcher (Powertools' tracer
// patches SDK v3 clients and never reaches it). The package is 28 KiB minified in every
// function. esbuild aliases `semver` to this file when bundling (infra/constructs/
// service-function.ts); test/infra/bundle-budget.test.ts fails if another bundled package
// starts importing semver.

/** Whether version `a` >= `b`, for plain `major.minor.patch` versions (pre-release tags ignored). */
export function gte(a, b) {
  const parse = (version) => String(version).split('-')[0].split('.').map((part) => Number.parseInt(part, 10) || 0);
  const left = parse(a);
  const right = parse(b);
  for (let index = 0; index < 3; index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

export default { gte };
