// How many requests each direct lane (a path that bypasses the MCP SDK for speed; ARCHITECTURE.md
// decision 17) has taken in this process. Tests that compare a lane with the SDK's path read it to know
// which path answered, and that the lanes switch (MCPCP_DIRECT_LANES=off) really turns every lane off.
// It must not decide anything: lanes count themselves here and nothing reads it on a request path.

export type LaneName =
  /** proxy/edge/node-lane.ts: a plain tools/call taken on node:http's own request and response. */
  | 'edge-node'
  /** proxy/gateway/direct-call.ts: a 2025-era tools/call past the SDK's generic POST dispatch. */
  | 'legacy-call'
  /** proxy/gateway/modern-direct.ts: a sessionless 2026-07-28 tools/call. */
  | 'modern-call'
  /** proxy/upstreams/direct-request.ts: a tools/call to an HTTP child past the SDK Client's funnel. */
  | 'upstream-request'
  /** proxy/upstreams/child-http-transport.ts: a request POSTed through node:http, its answer read directly. */
  | 'child-post'
  /** servers/_kit/http.ts: a first-party server's 2025-era request past the SDK's POST dispatch. */
  | 'kit-post';

const taken: Record<LaneName, number> = {
  'edge-node': 0,
  'legacy-call': 0,
  'modern-call': 0,
  'upstream-request': 0,
  'child-post': 0,
  'kit-post': 0,
};

export function noteLaneTaken(lane: LaneName): void {
  taken[lane] += 1;
}

/** A copy of the counts so far. */
export function lanesTaken(): Record<LaneName, number> {
  return { ...taken };
}
