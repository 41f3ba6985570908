import { describe, expect, it } from 'vitest';
import { createRateLimiter, takeToken } from '../../../proxy/rate-limit.ts';

interface P {
  agent: string;
}

describe('takeToken', () => {
  const limit = { requestsPerMinute: 60, burst: 2 };

  it('starts full and spends one token per request', () => {
    const first = takeToken(undefined, limit, 0);
    expect(first.allowed).toBe(true);
    expect(first.bucket.tokens).toBe(1);
  });

  it('refuses when empty and says how long until the next token', () => {
    let bucket = takeToken(undefined, limit, 0).bucket;
    bucket = takeToken(bucket, limit, 0).bucket;
    const refused = takeToken(bucket, limit, 0);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterMs).toBe(1000);
  });

  it('refills at requestsPerMinute and never beyond the burst', () => {
    let bucket = takeToken(undefined, limit, 0).bucket;
    bucket = takeToken(bucket, limit, 0).bucket;
    expect(takeToken(bucket, limit, 999).allowed).toBe(false);
    expect(takeToken(bucket, limit, 1000).allowed).toBe(true);
    const later = takeToken(bucket, limit, 3_600_000);
    expect(later.bucket.tokens).toBe(1);
  });
});

describe('createRateLimiter', () => {
  it('limits each agent separately with a frozen clock, then recovers when the clock advances', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter<P>({
      limitFor: () => ({ requestsPerMinute: 6, burst: 3 }),
      keyOf: (p) => p.agent,
      now: () => now,
    });
    const alice = { agent: 'alice' };
    const bob = { agent: 'bob' };
    for (let i = 0; i < 3; i++) expect(limiter.take(alice).allowed).toBe(true);
    const refused = limiter.take(alice);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 10 });
    expect(limiter.take(bob).allowed).toBe(true);
    now += 9_999;
    expect(limiter.take(alice).allowed).toBe(false);
    now += 10_000;
    expect(limiter.take(alice).allowed).toBe(true);
  });

  it('lets agents without a limit through and keeps no bucket for them', () => {
    const limiter = createRateLimiter<P>({ limitFor: () => undefined, keyOf: (p) => p.agent, now: () => 0 });
    for (let i = 0; i < 1000; i++) expect(limiter.take({ agent: 'x' }).allowed).toBe(true);
    expect(limiter.size()).toBe(0);
  });

  it('applies new limits after setLimits (policy reload)', () => {
    const now = 0;
    const limiter = createRateLimiter<P>({
      limitFor: () => ({ requestsPerMinute: 60, burst: 1 }),
      keyOf: (p) => p.agent,
      now: () => now,
    });
    expect(limiter.take({ agent: 'a' }, now).allowed).toBe(true);
    expect(limiter.take({ agent: 'a' }, now).allowed).toBe(false);
    limiter.setLimits(() => undefined);
    expect(limiter.take({ agent: 'a' }, now).allowed).toBe(true);
  });

  it('forgets idle buckets', () => {
    let now = 0;
    const limiter = createRateLimiter<P>({
      limitFor: () => ({ requestsPerMinute: 60, burst: 5 }),
      keyOf: (p) => p.agent,
      now: () => now,
      idleMs: 1000,
    });
    limiter.take({ agent: 'a' });
    expect(limiter.size()).toBe(1);
    now = 5000;
    limiter.take({ agent: 'b' });
    expect(limiter.size()).toBe(1);
  });
});
