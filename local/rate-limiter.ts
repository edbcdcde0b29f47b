/**
 * Token buckets that play API Gateway's throttling in the local stack: one for the stage
 * and one per method, with the rates and bursts of the endpoint table.
 */
import type { Throttle } from '#shared/http/endpoints';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly throttle: Throttle,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = throttle.burstLimit;
    this.last = now();
  }

  /** Takes one token; returns 0 when granted, else the seconds to wait for one. */
  take(): number {
    const now = this.now();
    const refill = ((now - this.last) / 1000) * this.throttle.rateLimit;
    this.tokens = Math.min(this.throttle.burstLimit, this.tokens + refill);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.throttle.rateLimit));
  }

  /** Gives back a token taken for a request that another limit then refused. */
  refund(): void {
    this.tokens = Math.min(this.throttle.burstLimit, this.tokens + 1);
  }
}

/**
 * Takes one token from each bucket, or none: API Gateway counts a request against the
 * stage and the method only when both let it through. Returns the seconds to wait, 0 if granted.
 */
export function takeFromAll(buckets: readonly TokenBucket[]): number {
  const taken: TokenBucket[] = [];
  for (const bucket of buckets) {
    const wait = bucket.take();
    if (wait > 0) {
      for (const granted of taken) granted.refund();
      return wait;
    }
    taken.push(bucket);
  }
  return 0;
}
