// Opens one connected SDK Client to a Streamable HTTP child: the transport (with the internal child
// token when the connection belongs to one agent), response-stream attribution of what the child sends
// mid-call, and the client the gateway's hooks hear through. Reconnecting and liveness are http.ts's.
import type { Logger } from '../../lib/log.ts';
import type { HttpServerConfig } from '../../config/schema.ts';
import { createAttribution, currentCaller } from './attribution.ts';
import { ChildHttpTransport } from './child-http-transport.ts';
import { createUpstreamClient } from './client.ts';
import type { UpstreamConnection, UpstreamHooks } from './types.ts';

export interface HttpConnectionOptions {
  url: URL;
  config: HttpServerConfig;
  hooks: UpstreamHooks;
  logger: Logger;
  /** The agent this connection belongs to (first-party children), else undefined (shared). */
  agent: string | undefined;
  /** The internal child JWT for `agent`, sent as `Authorization: Bearer` (first-party only). */
  token?: () => Promise<string>;
  generation: number;
  /** Off: every message goes through the SDK transport's own send logic over global fetch. */
  directLanes: boolean;
  /** 'legacy': a 2025 session whatever `config.protocol` says (a dual-era child's 2025 face). */
  era?: 'legacy';
}

export async function openHttpConnection(o: HttpConnectionOptions): Promise<UpstreamConnection> {
  const attribution = createAttribution();
  const transport = new ChildHttpTransport(o.url, {
    // What arrives on a call's answer stream belongs to the call that opened it.
    attribute: () => {
      const caller = currentCaller();
      return caller === undefined ? undefined : (message) => attribution.note(message, caller);
    },
    ...(o.token === undefined ? {} : { authProvider: { token: o.token } }),
    direct: o.directLanes,
    // A child may close a call's stream mid-call and expect the client to resume it (Last-Event-ID);
    // a few quick retries cover that without hammering a child that is gone (the ping loop sees it).
    reconnectionOptions: {
      maxRetries: 3,
      initialReconnectionDelay: 100,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 2,
    },
  });
  const ref: { conn?: UpstreamConnection } = {};
  const client = createUpstreamClient(
    o.hooks,
    () => ref.conn!,
    attribution,
    o.config.protocol === '2025-11-25' || o.era === 'legacy' ? 'legacy' : 'auto',
    () =>
      o.logger.warn(
        { server: o.config.id },
        'child answered without resultType, which 2026-07-28 requires: read as complete, as the official client does',
      ),
  );
  const conn: UpstreamConnection = {
    upstreamId: o.config.id,
    agent: o.agent,
    client,
    generation: o.generation,
  };
  ref.conn = conn;
  client.onerror = (error) => o.logger.debug({ err: error.message }, 'child transport error');
  try {
    await client.connect(transport, { timeout: o.config.readyTimeoutMs });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return conn;
}

/** How long ending a connection waits for the child to acknowledge the end of its session. */
const endSessionTimeoutMs = 2000;

/**
 * Ends a connection for good: asks the child to drop its session (HTTP DELETE, as the MCP spec asks of a
 * client that no longer needs one), so it frees what it kept for it, then closes the client.
 */
export async function endConnection(conn: UpstreamConnection): Promise<void> {
  const transport = conn.client.transport as { terminateSession?: () => Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      transport?.terminateSession?.(),
      new Promise((resolve) => (timer = setTimeout(resolve, endSessionTimeoutMs))),
    ]);
  } catch {
    // A child that is gone, or refuses the DELETE, has nothing left to free that we could reach.
  } finally {
    clearTimeout(timer);
    await conn.client.close().catch(() => undefined);
  }
}

/**
 * A 2026-era child's 2025 face, when it keeps sessions (it answers a 2025 `initialize` with a session):
 * the connection `open` made, or undefined. A 2025 face without sessions is an adapter over the 2026 one
 * (the SDK's stateless fallback runs the same handlers): the 2026 face serves 2025-era agents at least as
 * well and carries more per request (the agent's own capabilities; cancellation by closing the request).
 */
export async function openSessionfulLegacyFace(
  open: () => Promise<UpstreamConnection>,
  logger: Logger,
): Promise<UpstreamConnection | undefined> {
  try {
    const conn = await open();
    const session = (conn.client.transport as { sessionId?: string } | undefined)?.sessionId;
    if (conn.client.getProtocolEra() === 'legacy' && session !== undefined) {
      logger.info('child speaks 2025-11-25 with sessions too: 2025-era agents are served over that face');
      return conn;
    }
    await endConnection(conn);
    logger.info('child answers 2025-11-25 without sessions: its 2026-07-28 face serves every agent');
    return undefined;
  } catch (error) {
    logger.info(
      { err: error instanceof Error ? error.message : String(error) },
      'child has no 2025 face: every agent is served over its 2026-07-28 face',
    );
    return undefined;
  }
}
