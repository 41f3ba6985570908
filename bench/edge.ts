// Edge-only cost: the Hono app's /mcp path (Host/Origin checks, body limit, cached token verification,
// JSON-RPC checks, rate limit, metrics) in front of a gateway that answers at once, driven in-process.
// Attributes the proxy's per-call CPU between the edge and the gateway.
//   node bench/edge.ts [--requests 20000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { createTokenVerifier } from '../auth/verify.ts';
import { parseConfig } from '../config/load.ts';
import { createSilentLogger } from '../lib/log.ts';
import { createProxyApp } from '../proxy/app.ts';
import type { Principal } from '../proxy/gateway/index.ts';
import { createProxyMetrics } from '../proxy/metrics.ts';
import { createRateLimiter } from '../proxy/rate-limit.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '20000' } } });
const n = Number(values.requests);
const base = 'http://127.0.0.1:8080';
const dir = await mkdtemp(path.join(tmpdir(), 'mcpcp-edge-bench-'));
try {
  await generateKeyPair(dir);
  const signer = await loadSigner(dir);
  const config = parseConfig(`proxy:\n  publicUrl: ${base}\n`, path.join(dir, 'mcpcp.yaml'));
  const verifier = createTokenVerifier({ issuer: base, audience: `${base}/mcp`, jwks: { dir } });
  const token = await issueAgentToken(signer, {
    issuer: base,
    audience: `${base}/mcp`,
    agent: 'bench',
    ttlSeconds: 3600,
  });
  const app = createProxyApp({
    verifier,
    config,
    logger: createSilentLogger(),
    metrics: createProxyMetrics(),
    rateLimiter: createRateLimiter<Principal>({
      limitFor: () => ({ requestsPerMinute: 1e9, burst: 1e9 }),
      keyOf: (p) => p.agent,
    }),
    gateway: {
      handleMcp: () => Promise.resolve(new Response('{"jsonrpc":"2.0","id":1,"result":{}}')),
      isReady: () => true,
      upstreamStates: () => [],
      sessionCount: () => 0,
    },
  });
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'e1_echo', arguments: { message: 'hello' } },
  });
  const headers = {
    host: '127.0.0.1:8080',
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const makeRequest = () => new Request(`${base}/mcp`, { method: 'POST', body, headers });
  const once = async (): Promise<void> => {
    const res = await app.fetch(makeRequest());
    await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  };
  for (let i = 0; i < 2000; i++) await once();
  const measure = async (work: () => Promise<unknown>): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) await work();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / n;
  };
  const total = await measure(once);
  const requestOnly = await measure(() => makeRequest().text());
  const edgeMs = total - requestOnly;
  console.log(
    `edge CPU per request: ${edgeMs.toFixed(4)} ms (app.fetch ${total.toFixed(4)} − Request build ${requestOnly.toFixed(4)})`,
  );
  console.log(
    JSON.stringify({ bench: 'edge', requests: n, edgeCpuMsPerRequest: Math.round(edgeMs * 10_000) / 10_000 }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
