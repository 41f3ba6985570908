// Resource subscriptions, shared per child connection: the first endpoint to subscribe to a URI on a
// connection subscribes upstream (resources/subscribe for 2025-era children, a subscriptions/listen
// stream for 2026-era ones), the last one to leave unsubscribes. Updates fan out to the endpoints.
import type { McpSubscription } from '@modelcontextprotocol/client';
import type { UpstreamConnection } from '../upstreams/index.ts';
import type { Endpoint } from './core.ts';

interface Held {
  endpoints: Set<Endpoint>;
  /** The upstream subscription; resolves once the child acknowledged it. */
  ready: Promise<McpSubscription | undefined>;
}

export function createSubscriptions(options: { timeoutMs: number }) {
  const byConn = new Map<UpstreamConnection, Map<string, Held>>();

  const open = async (conn: UpstreamConnection, uri: string): Promise<McpSubscription | undefined> => {
    if (conn.client.getProtocolEra() === 'modern') {
      return conn.client.listen({ resourceSubscriptions: [uri] }, { timeout: options.timeoutMs });
    }
    await conn.client.subscribeResource({ uri }, { timeout: options.timeoutMs });
    return undefined;
  };

  const close = (conn: UpstreamConnection, uri: string, held: Held): void => {
    void held.ready
      .then(async (listen) => {
        if (listen !== undefined) await listen.close();
        else await conn.client.unsubscribeResource({ uri }, { timeout: options.timeoutMs });
      })
      .catch(() => undefined);
  };

  return {
    async add(conn: UpstreamConnection, uri: string, endpoint: Endpoint): Promise<void> {
      let byUri = byConn.get(conn);
      if (!byUri) {
        byUri = new Map();
        byConn.set(conn, byUri);
      }
      let held = byUri.get(uri);
      if (!held) {
        held = { endpoints: new Set(), ready: open(conn, uri) };
        byUri.set(uri, held);
        const mine = held;
        held.ready.catch(() => {
          if (byUri.get(uri) !== mine) return;
          byUri.delete(uri);
          if (byUri.size === 0 && byConn.get(conn) === byUri) byConn.delete(conn);
        });
      }
      held.endpoints.add(endpoint);
      await held.ready;
    },
    remove(endpoint: Endpoint, uri?: string): void {
      for (const [conn, byUri] of byConn) {
        for (const [u, held] of byUri) {
          if ((uri !== undefined && u !== uri) || !held.endpoints.delete(endpoint) || held.endpoints.size > 0)
            continue;
          byUri.delete(u);
          close(conn, u, held);
        }
        // A connection with nothing subscribed is not kept here (it may be a gone agent's).
        if (byUri.size === 0) byConn.delete(conn);
      }
    },
    subscribers(conn: UpstreamConnection, uri: string): Iterable<Endpoint> {
      return byConn.get(conn)?.get(uri)?.endpoints ?? [];
    },
    /** A child went down: its connections and their subscriptions are gone with it. */
    forgetUpstream(id: string): void {
      for (const conn of [...byConn.keys()]) if (conn.upstreamId === id) byConn.delete(conn);
    },
  };
}

export type Subscriptions = ReturnType<typeof createSubscriptions>;
