// Sends one routed request to a child on behalf of a caller: registers the caller on the connection
// (so the child's requests and log lines find it), forwards progress under the agent's own token,
// passes cancellation and the per-call timeout, and retries once on a connection the child forgot.
// It must not decide who may call what; the front Server has done that before calling in.
import {
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type LoggingLevel,
} from '@modelcontextprotocol/server';
import type { StandardSchemaV1 } from '@modelcontextprotocol/client';
import type { Logger } from '../../lib/log.ts';
import { withCaller } from '../upstreams/attribution.ts';
import { isStaleConnection, type Upstream, type UpstreamConnection } from '../upstreams/index.ts';
import { mapUpstreamError } from './errors.ts';
import type { CallRegistry, Relay } from './relay.ts';
import type { Principal } from './types.ts';

export interface CallOptions {
  principal: Principal;
  server: string;
  method: string;
  params: Record<string, unknown>;
  relay: Relay;
  signal: AbortSignal;
  /** The agent's progress token: child progress is forwarded under it. */
  progressToken?: string | number;
  /** The least severe log level the caller wants (sent to 2026-era children in `_meta`). */
  logLevel?: LoggingLevel;
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

export function createCallChild(options: {
  upstreams: ReadonlyMap<string, Upstream>;
  calls: CallRegistry;
  callTimeoutMs: number;
  logger: Logger;
}) {
  const { upstreams, calls, callTimeoutMs, logger } = options;

  const send = (conn: UpstreamConnection, o: CallOptions, inFlight: Set<Promise<void>>): Promise<Params> => {
    const client = conn.client;
    const params =
      o.logLevel !== undefined && client.getProtocolEra() === 'modern'
        ? {
            ...o.params,
            _meta: { ...(o.params._meta as Params | undefined), [LOG_LEVEL_META_KEY]: o.logLevel },
          }
        : o.params;
    const progressToken = o.progressToken;
    const requestOptions = {
      signal: o.signal,
      timeout: callTimeoutMs,
      maxTotalTimeout: callTimeoutMs,
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
    return withCaller(o.relay, () =>
      o.method === 'tools/call'
        ? client.request(request, frontValidated, requestOptions)
        : (client.request(request, requestOptions) as Promise<Params>),
    );
  };

  return async function callChild(o: CallOptions): Promise<Params> {
    const upstream = upstreams.get(o.server);
    if (!upstream) throw new ProtocolError(ProtocolErrorCode.InternalError, 'Internal error');
    for (let attempt = 0; ; attempt += 1) {
      let conn: UpstreamConnection | undefined;
      try {
        conn = await upstream.connection(o.principal.agent);
        const end = calls.begin(conn, o.relay);
        const inFlight = new Set<Promise<void>>();
        try {
          const result = await send(conn, o, inFlight);
          if (inFlight.size > 0) await Promise.all(inFlight);
          return result;
        } finally {
          end();
        }
      } catch (error) {
        if (o.signal.aborted) throw error;
        if (conn && attempt === 0 && isStaleConnection(error)) {
          // The child forgot our session (it restarted): reconnect and retry once, invisibly.
          upstream.discard(conn);
          continue;
        }
        const mapped = mapUpstreamError(error, o.server, callTimeoutMs);
        if (mapped.outcome === 'error' && !(error instanceof ProtocolError)) {
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
  };
}
