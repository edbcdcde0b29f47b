import { takeFromAll, TokenBucket } from '#local/rate-limiter';

/** A clock the test moves by hand, in milliseconds as `performance.now()` gives them. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

/** Takes `count` tokens at one instant; returns how many were granted. */
function drain(bucket: TokenBucket, count: number): number {
  let granted = 0;
  for (let i = 0; i < count; i += 1) if (bucket.take() === 0) granted += 1;
  return granted;
}

describe('TokenBucket', () => {
  it('grants a full burst at once, then refuses', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 20, burstLimit: 40 }, clock.now);
    expect(drain(bucket, 40)).toBe(40);
    expect(bucket.take()).toBeGreaterThan(0);
  });

  it('refills at the steady rate', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 20, burstLimit: 40 }, clock.now);
    drain(bucket, 40);
    clock.advance(100); // 20 per second for 0.1 s: two tokens
    expect(drain(bucket, 5)).toBe(2);
    clock.advance(49); // 0.98 of a token: not yet
    expect(bucket.take()).toBeGreaterThan(0);
    clock.advance(1);
    expect(bucket.take()).toBe(0);
  });

  it('never holds more than the burst, however long it stays idle', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 5 }, clock.now);
    drain(bucket, 5);
    clock.advance(3_600_000);
    expect(drain(bucket, 20)).toBe(5);
  });

  it('does not spend a token on a refused request', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 1, burstLimit: 1 }, clock.now);
    expect(bucket.take()).toBe(0);
    for (let i = 0; i < 10; i += 1) expect(bucket.take()).toBeGreaterThan(0);
    clock.advance(1_000);
    expect(bucket.take()).toBe(0);
  });

  it('answers a whole number of seconds, at least 1, long enough for one token', () => {
    const clock = manualClock();
    const fast = new TokenBucket({ rateLimit: 20, burstLimit: 1 }, clock.now);
    fast.take();
    expect(fast.take()).toBe(1); // a token is 50 ms away, but Retry-After counts whole seconds

    const slow = new TokenBucket({ rateLimit: 0.25, burstLimit: 1 }, clock.now);
    slow.take();
    expect(slow.take()).toBe(4);
    clock.advance(1_000); // a quarter of a token back: 3 s to go
    expect(slow.take()).toBe(3);
    clock.advance(2_500); // 0.875 of a token: 0.5 s to go, rounded up
    expect(slow.take()).toBe(1);
  });

  it('grants a request made after waiting the seconds it was told', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 0.5, burstLimit: 2 }, clock.now);
    drain(bucket, 2);
    const wait = bucket.take();
    expect(Number.isInteger(wait)).toBe(true);
    expect(wait).toBe(2);
    clock.advance(wait * 1_000);
    expect(bucket.take()).toBe(0);
  });
});

describe('takeFromAll', () => {
  it('spends nothing from the stage when the method refuses, and nothing from the method when the stage refuses', () => {
    const clock = manualClock();
    const method = new TokenBucket({ rateLimit: 1, burstLimit: 2 }, clock.now);
    const stage = new TokenBucket({ rateLimit: 1, burstLimit: 3 }, clock.now);
    expect(takeFromAll([method, stage])).toBe(0);
    expect(takeFromAll([method, stage])).toBe(0);
    expect(takeFromAll([method, stage])).toBeGreaterThan(0);
    // The refused request left the stage's last token for another method.
    const other = new TokenBucket({ rateLimit: 1, burstLimit: 5 }, clock.now);
    expect(takeFromAll([other, stage])).toBe(0);
    expect(takeFromAll([other, stage])).toBeGreaterThan(0);
    // ...and the stage's refusal gave the other method its token back.
    expect(drain(other, 10)).toBe(4);
  });
});
