// Failed sign-ins, counted per key (a user name, a client address) in a token bucket: every failure takes a
// token, success takes none, and a key with no token left is refused before its password is even checked.
// A thin shell over the pure bucket core of proxy/rate-limit.ts; it must not know about HTTP.
import { takeToken, type Bucket, type RateLimit } from '../rate-limit.ts';
import { replicaShare } from '../replica-share.ts';

export interface LoginThrottle {
  /** Seconds to wait when `key` has no attempt left, else 0. Takes nothing. */
  waitSeconds(key: string): number;
  /** Records a failed attempt for `key`. */
  fail(key: string): void;
}

export function createLoginThrottle(options: {
  attempts: number;
  windowSeconds: number;
  /** Proxy replicas behind one balancer: each allows 1/replicas of the attempts (replica-share.ts). */
  replicas?: number;
  now?: (() => number) | undefined;
}): LoginThrottle {
  const limit: RateLimit = replicaShare(
    { requestsPerMinute: (options.attempts * 60) / options.windowSeconds, burst: options.attempts },
    options.replicas ?? 1,
  )!;
  const clock = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  return {
    waitSeconds(key) {
      const probe = takeToken(buckets.get(key), limit, clock());
      return probe.allowed ? 0 : Math.max(1, Math.ceil(probe.retryAfterMs / 1000));
    },
    fail(key) {
      const now = clock();
      // Forget buckets that have refilled, so the map holds only recent failures.
      if (buckets.size > 10_000) {
        for (const [k, b] of buckets) if (now - b.updatedAt > options.windowSeconds * 1000) buckets.delete(k);
      }
      buckets.set(key, takeToken(buckets.get(key), limit, now).bucket);
    },
  };
}
