// A rate limit shared by N proxy replicas without a shared counter: each replica enforces 1/N of it, so N replicas
// together never allow more than the limit, and a call costs no round trip to any store. Behind a balancer that
// spreads an agent's requests evenly the agent gets about its full limit; pinned to one replica it gets 1/N.
// Pure; it must not know about buckets or HTTP (rate-limit.ts does).
import type { RateLimit } from './rate-limit.ts';

export function replicaShare(limit: RateLimit | undefined, replicas: number): RateLimit | undefined {
  if (limit === undefined || replicas <= 1) return limit;
  return {
    requestsPerMinute: limit.requestsPerMinute / replicas,
    // A bucket holds at least one token; below `replicas` tokens of burst the replicas together allow `replicas`.
    burst: Math.max(1, Math.floor(limit.burst / replicas)),
  };
}
