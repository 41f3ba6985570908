// Sends one routed request to a child on behalf of a caller: registers the caller on the connection
// (so the child's requests and log lines find it), forwards progress under the agent's own token,
// passes cancellation and the per-call timeout, and retries once on a connection the child forgot.
// It must not decide who may call what; the front Server has done that before calling in.
import {
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  type LoggingLevel,
} from '@modelcontextprotocol/server';
import type { CallToolRequest, StandardSchemaV1, Tool } from '@modelcontextprotocol/client';
import type { Logger } from '../../lib/log.ts';
import { withCaller } from '../upstreams/attribution.ts';
import { directRequest } from '../upstreams/direct-request.ts';
import {
  isStaleConnection,
  type CallerEra,
  type Upstream,
  type UpstreamConnection,
} from '../upstreams/index.ts';
import { upstreamFailure } from '../errors-to-wire.ts';
import { paramHeaders } from './param-headers.ts';
import type { CallRegistry, Relay } from './relay.ts';
import type { Principal } from './types.ts';

export interface CallOptions {
  principal: Principal;
  /** The caller's era: a child with a face of that era is reached over it. */
  era: CallerEra;
  server: string;
  method: string;
  params: Record<string, unknown>;
  relay: Relay;
  signal: AbortSignal;
  /** The agent's progress token: child progress is forwarded under it. */
  progressToken?: string | number;
  /** The least severe log level the caller wants (sent to 2026-era children in `_meta`). */
  logLevel?: LoggingLevel;
  /** What the calling agent declared it can answer (a 2026-era child hears its relayable part). */
  clientCapabilities?: Params | undefined;
  /**
   * A 2026-era child's own `input_required` result comes back as it is (for a 2026-era caller, who answers
   * it itself) instead of being fulfilled through `relay` by the SDK Client.
   */
  passInputRequired?: boolean;
}

type Params = Record<string, unknown>;

/**
 * A pass-through result schema for `tools/call`: the child's era codec has already checked the wire
 * shape, and the front Server validates every tools/call result in the agent's era before sending it,
 * so a third zod parse in between buys nothing.
 */
const frontValidated: StandardSchemaV1<Params> = {
  '~standard': { version: 1, vendor: 'mcpcp', validate: (value) => ({ value: value as Params }) },
};

/**
 * Of what the proxy relays (sampling, elicitation, roots), what the calling agent can answer. A 2026-era
 * child hears the client's capabilities with every request, so it learns what this caller can do rather
 * than everything the proxy could relay for some caller.
 */
function relayable(agent: Params): Params {
  const out: Params = {};
  for (const key of ['sampling', 'elicitation', 'roots']) if (agent[key] !== undefined) out[key] = agent[key];
  return out;
}

/** The tools of one catalog list that mirror arguments into `Mcp-Param-*` headers, by name. */
const mirroring = new WeakMap<readonly Tool[], ReadonlyMap<string, Tool>>();

function mirroredTool(tools: readonly Tool[] | undefined, name: unknown): Tool | undefined {
  if (tools === undefined || typeof name !== 'string') return undefined;
  let byName = mirroring.get(tools);
  if (byName === undefined) {
    byName = new Map(
      tools.filter((tool) => paramHeaders(tool.inputSchema).length > 0).map((tool) => [tool.name, tool]),
    );
    mirroring.set(tools, byName);
  }
  return byName.get(name);
}

/**
 * A child's result as the proxy answers it. The child's 2026-era identity stamp (`_meta` serverInfo)
 * names the server of this hop; the agent's server is the proxy, whose front stamps its own. And what
 * the proxy answers is decided per agent by the policy, so a child's `cacheScope: 'public'` (shareable
 * across principals) becomes 'private'; its ttlMs stands.
 */
function asProxyResult(result: Params): Params {
  let out = result;
  if (out.cacheScope === 'public') out = { ...out, cacheScope: 'private' };
  const meta = out._meta as Params | undefined;
  if (meta === null || typeof meta !== 'object' || !(SERVER_INFO_META_KEY in meta)) return out;
  const { [SERVER_INFO_META_KEY]: _child, ...rest } = meta;
  const { _meta: _old, ...body } = out;
  return Object.keys(rest).length === 0 ? body : { ...body, _meta: rest };
}

export function createCallChild(options: {
  upstreams: ReadonlyMap<string, Upstream>;
  calls: CallRegistry;
  callTimeoutMs: number;
  logger: Logger;
  /** The child's own tool definitions as last listed (for header mirroring). */
  toolsOf: (server: string) => readonly Tool[] | undefined;
  /** Marks the agent busy while its call runs (proxy/gateway/agent-idle.ts). */
  hold: (agent: string) => () => void;
  /** The upstream direct request (direct-request.ts); off: every call goes through the SDK Client. */
  directLanes: boolean;
}) {
  const { upstreams, calls, callTimeoutMs, logger, toolsOf, hold, directLanes } = options;

  const send = (conn: UpstreamConnection, o: CallOptions, inFlight: Set<Promise<void>>): Promise<Params> => {
    const client = conn.client;
    const modern = client.getProtocolEra() === 'modern';
    const envelope: Params = {};
    if (modern && o.logLevel !== undefined) envelope[LOG_LEVEL_META_KEY] = o.logLevel;
    if (modern && o.clientCapabilities !== undefined)
      envelope[CLIENT_CAPABILITIES_META_KEY] = relayable(o.clientCapabilities);
    const params =
      Object.keys(envelope).length === 0
        ? o.params
        : { ...o.params, _meta: { ...(o.params._meta as Params | undefined), ...envelope } };
    const progressToken = o.progressToken;
    const requestOptions = {
      signal: o.signal,
      timeout: callTimeoutMs,
      maxTotalTimeout: callTimeoutMs,
      ...(modern && o.passInputRequired === true ? { allowInputRequired: true } : {}),
      ...(progressToken === undefined
        ? {}
        : {
            onprogress: (progress: Params) => {
              // Progress sent before the result must reach the agent before the result does.
              const sent = o.relay
                .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
                .catch(() => undefined);
              inFlight.add(sent);
              void sent.finally(() => inFlight.delete(sent));
            },
          }),
    };
    const request = { method: o.method as 'tools/call', params };
    // A 2026-era tool that declares `x-mcp-header` arguments needs them mirrored into `Mcp-Param-*` headers
    // (its server rejects the call without them): the SDK's callTool does that from the definition given.
    // The definition is passed without its outputSchema: the result passes through, the agent validates it.
    const mirrored =
      o.method === 'tools/call' && modern ? mirroredTool(toolsOf(o.server), params.name) : undefined;
    return withCaller(o.relay, () => {
      if (mirrored !== undefined) {
        return client.callTool(params as CallToolRequest['params'], {
          ...requestOptions,
          toolDefinition: { name: mirrored.name, inputSchema: mirrored.inputSchema },
        });
      }
      if (o.method !== 'tools/call') return client.request(request, requestOptions);
      // A plain call to an HTTP child takes the upstream direct lane; progress keeps the Client's path.
      const direct =
        progressToken === undefined && directLanes
          ? directRequest(client, request, {
              signal: o.signal,
              timeoutMs: callTimeoutMs,
              resultSchema: frontValidated,
              requestOptions,
            })
          : undefined;
      return direct ?? client.request(request, frontValidated, requestOptions);
    });
  };

  return async function callChild(o: CallOptions): Promise<Params> {
    const upstream = upstreams.get(o.server);
    if (!upstream) throw new ProtocolError(ProtocolErrorCode.InternalError, 'Internal error');
    const release = hold(o.principal.agent);
    try {
      for (let attempt = 0; ; attempt += 1) {
        let conn: UpstreamConnection | undefined;
        try {
          conn = await upstream.connection(o.principal.agent, o.era);
          const end = calls.begin(conn, o.relay);
          const inFlight = new Set<Promise<void>>();
          try {
            const result = await send(conn, o, inFlight);
            if (inFlight.size > 0) await Promise.all(inFlight);
            return asProxyResult(result);
          } finally {
            end();
          }
        } catch (error) {
          if (o.signal.aborted) throw error;
          if (conn && attempt === 0 && isStaleConnection(error, conn.client)) {
            // The child forgot our session (it restarted): reconnect and retry once, invisibly.
            upstream.discard(conn);
            continue;
          }
          const mapped = upstreamFailure(error, o.server, callTimeoutMs);
          // A surprise, or a child's answer the proxy could not read: worth the operator's attention.
          if (mapped.unexpected || (mapped.outcome === 'error' && !(error instanceof ProtocolError))) {
            logger.error(
              {
                server: o.server,
                method: o.method,
                err: error instanceof Error ? error.message : String(error),
              },
              'upstream call failed',
            );
          }
          throw Object.assign(mapped.error, { outcome: mapped.outcome });
        }
      }
    } finally {
      release();
    }
  };
}
