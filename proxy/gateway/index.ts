// The gateway: everything MCP inside `/mcp`. It builds per-agent views over the upstream children,
// routes calls through a name table and relays notifications and child requests both ways.
// It must not verify tokens, parse HTTP auth or apply rate limits: the edge does that before calling in.
import type { DirectSink, HeaderSource } from '../../lib/mcp-direct-post.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import type { Logger } from '../../lib/log.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import { isLegacyRequest, readRequestBody, type AuthInfo } from '@modelcontextprotocol/server';
import { createCore } from './core.ts';
import { rpcCodes } from '../../lib/wire-errors.ts';
import { wireError } from './errors.ts';
import { createFlowStore } from './flows.ts';
import { createRequestStateSealer, ephemeralRequestStateKey } from './request-state.ts';
import { createLegacySessions } from './legacy.ts';
import type { SessionSeal } from './session-seal.ts';
import { createModernServing } from './modern.ts';
import type { ModernAnswer } from './modern-direct.ts';
import type { CompiledPolicy, Principal } from './types.ts';
import type { StdioSupervision } from '../upstreams/index.ts';
import type { ToolGate } from '../tool-pins/pins.ts';

export type { CompiledPolicy, Principal } from './types.ts';
export type { ModernAnswer } from './modern-direct.ts';

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
  /** stdio children (supervised by the proxy): restarts and the last stderr lines. */
  restarts?: number;
  stderrTail?: readonly string[];
}

export interface GatewayOptions {
  servers: McpcpConfig['servers'];
  policy: CompiledPolicy;
  childTokens?: { issue(child: string, agent: string): Promise<string> };
  callTimeoutMs: number;
  logger: Logger;
  onCall?: (e: CallEvent) => void;
  /** Log sink, log files and ping of the stdio children the proxy supervises. */
  supervision?: StdioSupervision;
  /** Seals 2025-era session ids with the fleet's key, so any replica can rebuild a session (session-seal.ts). */
  sessionSeal?: SessionSeal;
  /** Tool-definition pinning: a changed tool stays out of every list and route until approved. */
  toolGate?: ToolGate | undefined;
}

export interface Gateway {
  start(): Promise<void>;
  handleMcp(request: Request, principal: Principal, opts?: { parsedBody?: unknown }): Promise<Response>;
  /**
   * Takes a plain tools/call POSTed on the principal's own live 2025-era session `sid` (the node:http lane,
   * proxy/edge/node-lane.ts), its answer going to `sink`; false when it must go through `handleMcp`
   * (nothing has happened then). `message` has passed the edge's checks.
   */
  directCall(
    sid: string,
    principal: Principal,
    message: unknown,
    headers: HeaderSource,
    sink: DirectSink,
  ): boolean;
  /**
   * Takes a plain sessionless 2026-07-28 tools/call (proxy/gateway/modern-direct.ts), its answer going to
   * `answer`; false when it must go through `handleMcp` (nothing has happened then).
   */
  directModernCall(
    principal: Principal,
    message: unknown,
    headers: HeaderSource,
    answer: ModernAnswer,
  ): boolean;
  setPolicy(policy: CompiledPolicy): void;
  /** A child's own supervisor (the launcher) says it is back: reconnect to it now. */
  reconnect(serverId: string): void;
  upstreamStates(): UpstreamState[];
  /**
   * An operator's restart or stop of a child the proxy supervises itself (stdio); false for a child it does not
   * run (HTTP: the launcher or someone else runs it).
   */
  controlChild(serverId: string, action: 'restart' | 'stop'): Promise<boolean>;
  isReady(): boolean;
  sessionCount(): number;
  close(): Promise<void>;
}

export interface GatewayTuning {
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Legacy sessions idle longer than this are closed (default 30 min). */
  sessionIdleMs?: number;
  /**
   * An agent with no session, no listen stream and no call for this long is let go: its own sessions
   * with the children are ended (HTTP DELETE) and its 2026-era handler dropped (default 10 min).
   */
  agentIdleMs?: number;
  /** Modern input_required flows not resumed within this are aborted (default: callTimeoutMs). */
  flowTtlMs?: number;
  /**
   * The key sealing the requestState of `input_required` rounds (32 bytes; request-state.ts). Replicas that
   * share it resume each other's rounds; default: a random key of this process.
   */
  requestStateKey?: Uint8Array;
  /** Liveness ping interval for HTTP children (default 5000 ms). */
  healthIntervalMs?: number;
  /** Body cap for requests the gateway reads itself (default 4 MiB; the edge applies the real limit first). */
  maxRequestBodySize?: number;
  /** The SDK-bypassing lanes (direct-call.ts, modern-direct.ts, the upstream lanes); default MCPCP_DIRECT_LANES. */
  directLanes?: boolean;
}

export function createGateway(options: GatewayOptions & GatewayTuning): Gateway {
  if (!(options.callTimeoutMs > 0)) throw new RangeError('callTimeoutMs must be positive');
  const logger = options.logger;
  const pageSize = options.pageSize ?? 500;
  const maxRequestBodySize = options.maxRequestBodySize ?? 4 * 1024 * 1024;
  const directLanes = options.directLanes ?? readRuntimeEnv().directLanes;
  const core = createCore({ ...options, directLanes });
  const flows = createFlowStore({ ttlMs: options.flowTtlMs ?? options.callTimeoutMs });
  const states = createRequestStateSealer({
    key: options.requestStateKey ?? ephemeralRequestStateKey(),
    ttlMs: options.flowTtlMs ?? options.callTimeoutMs,
  });
  const legacy = createLegacySessions({
    core,
    flows,
    states,
    pageSize,
    idleMs: options.sessionIdleMs ?? 30 * 60_000,
    ...(options.sessionSeal === undefined ? {} : { seal: options.sessionSeal }),
    directLanes,
  });
  const modern = createModernServing({ core, flows, states, pageSize, maxRequestBodySize, logger });

  return {
    start: () => core.start(),
    async handleMcp(request, principal, opts) {
      const authInfo: AuthInfo = {
        token: '',
        clientId: principal.agent,
        scopes: [...principal.scopes],
        expiresAt: principal.expiresAt,
        extra: { principal },
      };
      let parsedBody = opts?.parsedBody;
      if (parsedBody === undefined && request.method === 'POST') {
        const read = await readRequestBody(request, maxRequestBodySize);
        if (read.tooLarge) return wireError(413, rpcCodes.invalidRequest, 'Request body too large');
        try {
          parsedBody = JSON.parse(read.text) as unknown;
        } catch {
          return wireError(400, rpcCodes.parseError, 'Parse error');
        }
      }
      // A request on the agent's own live 2025-era session is that session's (2026-era clients have no
      // sessions): skip the SDK's era classifier, whose schema checks cost ~2 % of the proxy's CPU per
      // call. Another agent's session id still goes through the classifier, like an unknown one.
      const sid = request.headers.get('mcp-session-id');
      if (
        (sid !== null && legacy.has(sid, principal.agent)) ||
        (await isLegacyRequest(request, parsedBody, { maxRequestBodySize }))
      ) {
        return legacy.handle(request, principal, parsedBody, authInfo);
      }
      return modern.handle(request, principal, parsedBody, authInfo);
    },
    directCall: (sid, principal, message, headers, sink) =>
      directLanes && legacy.directCall(sid, principal, message, headers, sink),
    directModernCall: (principal, message, headers, answer) =>
      directLanes && modern.directCall(principal, message, headers, answer),
    setPolicy: (policy) => core.setPolicy(policy),
    reconnect: (serverId) => core.upstreams.get(serverId)?.retryNow(),
    upstreamStates: () =>
      options.servers.map((s) => {
        const status = core.upstreams.get(s.id)!.status();
        return {
          id: s.id,
          transport: s.transport,
          state: status.phase,
          tools: core.tables().tools.filter((t) => t.server === s.id).length,
          ...(status.pid === undefined ? {} : { pid: status.pid }),
          ...(status.address === undefined ? {} : { address: status.address }),
          ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
          ...(status.restarts === undefined ? {} : { restarts: status.restarts }),
          ...(status.stderrTail === undefined ? {} : { stderrTail: status.stderrTail }),
        };
      }),
    async controlChild(serverId, action) {
      const control = core.upstreams.get(serverId)?.control;
      if (control === undefined) return false;
      await (action === 'restart' ? control.restart() : control.halt());
      return true;
    },
    isReady: () => [...core.upstreams.values()].every((u) => u.status().phase === 'ready'),
    sessionCount: () => legacy.count(),
    async close() {
      flows.close();
      await legacy.close();
      await modern.close();
      await core.close();
    },
  };
}
