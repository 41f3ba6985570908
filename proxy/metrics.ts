// Prometheus metrics of one proxy, in its own Registry (several proxies may live in one process, as in
// tests). It owns metric names and labels; it must not read requests or decide anything.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a call event needs to be counted; the gateway's CallEvent satisfies it. */
export interface CallSample {
  agent: string;
  method: string;
  name: string;
  decision: 'allow' | 'deny' | 'unknown';
  durationMs: number;
  outcome: string;
}

export interface UpstreamSample {
  server: string;
  up: boolean;
}

export interface ProxyMetrics {
  readonly registry: Registry;
  recordCall(sample: CallSample): void;
  recordHttp(route: string, method: string, status: number): void;
  recordRateLimited(agent: string): void;
  /** Gauges read at scrape time, so they are never stale. */
  setSources(sources: { upstreams: () => UpstreamSample[]; sessions: () => number }): void;
  render(): Promise<{ contentType: string; body: string }>;
}

/** Names the caller asked for that the policy hides or that do not exist share one label value. */
const hiddenName = '(unknown)';

export function createProxyMetrics(options: { defaultMetrics?: boolean } = {}): ProxyMetrics {
  const registry = new Registry();
  let sources: { upstreams: () => UpstreamSample[]; sessions: () => number } = {
    upstreams: () => [],
    sessions: () => 0,
  };

  const calls = new Counter({
    name: 'mcpcp_calls_total',
    help: 'MCP calls (tools/call, prompts/get, resources/read, …) by agent, method, qualified name and outcome',
    labelNames: ['agent', 'method', 'name', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'mcpcp_call_duration_seconds',
    help: 'Duration of MCP calls through the proxy, from arrival to answer',
    labelNames: ['method', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const http = new Counter({
    name: 'mcpcp_http_requests_total',
    help: 'HTTP requests answered by the proxy, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'mcpcp_rate_limited_total',
    help: 'Requests refused by the per-agent rate limit',
    labelNames: ['agent'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'mcpcp_upstream_up',
    help: '1 when the child server is connected and ready, 0 otherwise',
    labelNames: ['server'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const upstream of sources.upstreams()) this.set({ server: upstream.server }, upstream.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mcpcp_sessions',
    help: 'Open MCP sessions at the front door',
    registers: [registry],
    collect() {
      this.set(sources.sessions());
    },
  });
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'mcpcp_' });

  return {
    registry,
    recordCall(sample) {
      const name = sample.decision === 'allow' ? sample.name : hiddenName;
      calls.inc({ agent: sample.agent, method: sample.method, name, outcome: sample.outcome });
      duration.observe({ method: sample.method, outcome: sample.outcome }, sample.durationMs / 1000);
    },
    recordHttp(route, method, status) {
      http.inc({ route, method, status: String(status) });
    },
    recordRateLimited(agent) {
      rateLimited.inc({ agent });
    },
    setSources(next) {
      sources = next;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
