// Per-agent token buckets. The core (`takeToken`) is a pure function of a bucket, a limit and `now`;
// `createRateLimiter` keeps one bucket per agent and reads the limit from the current policy.
// It must not know about HTTP: the edge turns a refusal into 429 + Retry-After.

export interface RateLimit {
  requestsPerMinute: number;
  burst: number;
}

export interface Bucket {
  /** Tokens left (fractional while refilling). */
  tokens: number;
  /** Epoch milliseconds of the last refill. */
  updatedAt: number;
}

export type TakeResult =
  { allowed: true; bucket: Bucket } | { allowed: false; bucket: Bucket; retryAfterMs: number };

/** Refills `bucket` up to `nowMs` and takes one token if there is one. Pure: returns the next bucket. */
export function takeToken(bucket: Bucket | undefined, limit: RateLimit, nowMs: number): TakeResult {
  const capacity = Math.max(1, limit.burst);
  const perMs = limit.requestsPerMinute / 60_000;
  const previous = bucket ?? { tokens: capacity, updatedAt: nowMs };
  const elapsed = Math.max(0, nowMs - previous.updatedAt);
  const tokens = Math.min(capacity, previous.tokens + elapsed * perMs);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, updatedAt: nowMs } };
  const retryAfterMs = perMs > 0 ? Math.ceil((1 - tokens) / perMs) : Number.POSITIVE_INFINITY;
  return { allowed: false, bucket: { tokens, updatedAt: nowMs }, retryAfterMs };
}

export type RateDecision =
  { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: RateLimit };

export interface RateLimiter<P> {
  /** Takes one request's token for `principal`; `now` defaults to the limiter's clock. */
  take(principal: P, now?: number): RateDecision;
  /** Swaps the source of limits (policy hot reload). Buckets keep their tokens, capped by the new burst. */
  setLimits(limitFor: (principal: P) => RateLimit | undefined): void;
  /** Number of agents with a bucket (for tests and metrics). */
  size(): number;
}

export interface RateLimiterOptions<P> {
  /** Usually `(p) => rateLimitFor(policy, p)`; undefined means unlimited. */
  limitFor: (principal: P) => RateLimit | undefined;
  /** The bucket key: the agent name. */
  keyOf: (principal: P) => string;
  /** The clock edge; tests pass a frozen one. */
  now?: () => number;
  /** Buckets idle longer than this are forgotten (they would be full anyway). Default 10 minutes. */
  idleMs?: number;
}

export function createRateLimiter<P>(options: RateLimiterOptions<P>): RateLimiter<P> {
  const clock = options.now ?? Date.now;
  const idleMs = options.idleMs ?? 600_000;
  if (!(idleMs > 0)) throw new RangeError('idleMs must be positive');
  let limitFor = options.limitFor;
  const buckets = new Map<string, Bucket>();
  let lastSweep = clock();

  function sweep(nowMs: number): void {
    if (nowMs - lastSweep < idleMs) return;
    lastSweep = nowMs;
    for (const [key, bucket] of buckets) if (nowMs - bucket.updatedAt > idleMs) buckets.delete(key);
  }

  return {
    take(principal, now) {
      const nowMs = now ?? clock();
      const limit = limitFor(principal);
      if (limit === undefined) return { allowed: true };
      sweep(nowMs);
      const key = options.keyOf(principal);
      const result = takeToken(buckets.get(key), limit, nowMs);
      buckets.set(key, result.bucket);
      if (result.allowed) return { allowed: true };
      const seconds = Number.isFinite(result.retryAfterMs)
        ? Math.max(1, Math.ceil(result.retryAfterMs / 1000))
        : 60;
      return { allowed: false, retryAfterSeconds: seconds, limit };
    },
    setLimits(next) {
      limitFor = next;
    },
    size() {
      return buckets.size;
    },
  };
}
