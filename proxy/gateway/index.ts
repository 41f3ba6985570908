// The gateway: everything MCP inside `/mcp`. It builds per-agent views over the upstream children,
// routes calls through a name table and relays notifications and child requests both ways.
// It must not verify tokens, parse HTTP auth or apply rate limits: the edge does that before calling in.
import type { Logger } from '../../lib/log.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import type { CompiledPolicy, Principal } from './types.ts';

export type { CompiledPolicy, Principal } from './types.ts';

export interface CallEvent {
  agent: string;
  method: string;
  name: string;
  server?: string;
  decision: 'allow' | 'deny' | 'unknown';
  rule: string;
  durationMs: number;
  outcome: 'ok' | 'tool_error' | 'error' | 'denied' | 'timeout' | 'unavailable' | 'rate_limited';
}

export interface UpstreamState {
  id: string;
  transport: 'stdio' | 'http';
  state: 'starting' | 'ready' | 'down' | 'crash-looping';
  tools: number;
  pid?: number;
  address?: string;
  lastError?: string;
}

export interface GatewayOptions {
  servers: McpcpConfig['servers'];
  policy: CompiledPolicy;
  childTokens?: { issue(child: string, agent: string): Promise<string> };
  callTimeoutMs: number;
  logger: Logger;
  onCall?: (e: CallEvent) => void;
}

export interface Gateway {
  start(): Promise<void>;
  handleMcp(request: Request, principal: Principal, opts?: { parsedBody?: unknown }): Promise<Response>;
  setPolicy(policy: CompiledPolicy): void;
  upstreamStates(): UpstreamState[];
  isReady(): boolean;
  sessionCount(): number;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const states: UpstreamState[] = options.servers.map((s) => ({
    id: s.id,
    transport: s.transport,
    state: 'starting',
    tools: 0,
  }));
  return {
    start: () => Promise.resolve(),
    handleMcp: () =>
      Promise.resolve(
        Response.json(
          { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Gateway not ready' } },
          { status: 503 },
        ),
      ),
    setPolicy: () => undefined,
    upstreamStates: () => states,
    isReady: () => false,
    sessionCount: () => 0,
    close: () => Promise.resolve(),
  };
}
