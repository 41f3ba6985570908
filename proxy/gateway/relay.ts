// Who should hear what a child says. Each front request that reaches a child registers a Relay on
// that child connection; a child request or log line is attributed to the one caller it can belong
// to. When attribution is ambiguous across sessions it fails closed: never leak to another agent.
import type { ChildRequest, UpstreamConnection } from '../upstreams/index.ts';

export interface Relay {
  readonly agent: string;
  /** The legacy session id, or a per-request id for modern requests. */
  readonly session: string;
  /** Sends a notification related to the caller's request (progress, log message). */
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void>;
  /** Puts a child's request (sampling, elicitation, roots) to the caller. */
  request(request: ChildRequest, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export function createCallRegistry() {
  const active = new Map<UpstreamConnection, Relay[]>();
  return {
    /** Registers a caller on a connection for the duration of one upstream request. */
    begin(conn: UpstreamConnection, relay: Relay): () => void {
      const list = active.get(conn) ?? [];
      list.push(relay);
      active.set(conn, list);
      return () => {
        const current = active.get(conn);
        if (!current) return;
        const i = current.indexOf(relay);
        if (i >= 0) current.splice(i, 1);
        if (current.length === 0) active.delete(conn);
      };
    },
    /** The caller a child message belongs to: the only one, or the latest of a single session. */
    attribute(conn: UpstreamConnection): Relay | undefined {
      const list = active.get(conn);
      if (!list || list.length === 0) return undefined;
      const last = list[list.length - 1]!;
      return list.every((r) => r.session === last.session) ? last : undefined;
    },
    size(): number {
      let n = 0;
      for (const list of active.values()) n += list.length;
      return n;
    },
  };
}

export type CallRegistry = ReturnType<typeof createCallRegistry>;
