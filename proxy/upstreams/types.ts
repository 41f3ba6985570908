// The one interface every upstream transport implements. Nothing outside proxy/upstreams/ branches
// on the transport; the gateway only sees connections (a connected SDK Client) and state changes.
import type { Client } from '@modelcontextprotocol/client';

export type UpstreamPhase = 'starting' | 'ready' | 'down' | 'crash-looping';

/**
 * A calling agent's protocol era: 2025-06-18/2025-11-25 ('legacy', sessions and server→client requests)
 * or 2026-07-28 ('modern'). A child that speaks both is reached over the face of the caller's era.
 */
export type CallerEra = 'legacy' | 'modern';

/** One connected MCP client to a child. `agent` is set when the connection belongs to one agent. */
export interface UpstreamConnection {
  readonly upstreamId: string;
  readonly agent: string | undefined;
  readonly client: Client;
  /** Grows on every reconnect of this upstream, so catalogs fetched from an old process are dropped. */
  readonly generation: number;
}

export interface ChildRequest {
  method: string;
  params?: Record<string, unknown>;
}

export interface ChildNotification {
  method: string;
  params?: Record<string, unknown>;
}

/** What the gateway hears from upstreams. */
export interface UpstreamHooks {
  /** The child sent a request (sampling, elicitation, roots): relay it to the agent whose call caused it. */
  onChildRequest(
    conn: UpstreamConnection,
    request: ChildRequest,
    signal: AbortSignal,
    /** The caller the child's message arrived for, when the transport can tell (HTTP); else undefined. */
    caller: unknown,
  ): Promise<Record<string, unknown>>;
  /** The child sent a notification (list_changed, resources/updated, logging message, …). */
  onChildNotification(conn: UpstreamConnection, notification: ChildNotification, caller: unknown): void;
  /** The upstream changed phase (ready, down, back again). */
  onStateChange(upstreamId: string): void;
}

export interface UpstreamStatus {
  phase: UpstreamPhase;
  pid?: number;
  address?: string;
  lastError?: string;
  /** Restarts so far (stdio children, supervised by the proxy). */
  restarts?: number;
  /** The child's last stderr lines and supervisor notes, oldest first (stdio children). */
  stderrTail?: readonly string[];
}

export interface Upstream {
  readonly id: string;
  readonly transport: 'stdio' | 'http';
  /** Connects (spawning the process for stdio). Never rejects: a child that is down is retried. */
  start(): Promise<void>;
  /**
   * The connection for this agent's calls, over the child's face of the agent's era when it has one
   * (default 'modern': the newest both speak); rejects with ERR_UPSTREAM_UNAVAILABLE while down.
   */
  connection(agent: string, era?: CallerEra): Promise<UpstreamConnection>;
  /**
   * A live connection for catalog fetches, of the era's face (a child with both faces may list
   * different things on each); undefined while down.
   */
  anyConnection(era?: CallerEra): UpstreamConnection | undefined;
  /** Drops a connection whose session the child forgot (HTTP 404) so the next call reconnects. */
  discard(conn: UpstreamConnection): void;
  /**
   * Whoever runs the child says it is ready again (the launcher restarted it): reconnect now instead of
   * waiting out the backoff. A no-op while connected, or where the proxy runs the child itself (stdio).
   */
  retryNow(): void;
  /**
   * The agent has gone (proxy/gateway/agent-idle.ts): end the connection that is its alone, if there is
   * one, ending its session with the child. Its next call opens a new one. Shared connections stay.
   */
  release(agent: string): void;
  status(): UpstreamStatus;
  /** Present where the proxy runs the child itself (stdio): an operator's restart and stop (supervisor halt). */
  readonly control?: { restart(): Promise<void>; halt(): Promise<void> };
  close(): Promise<void>;
}
