// A Streamable HTTP child. Where the child keeps sessions (the 2025 era) every agent gets a session of
// its own, so what the child keeps per session (log level, subscriptions, state of its own) and what it
// sends on the session's stream belong to that agent only. First-party children get one connection per
// agent in either era, each carrying a short-lived internal JWT for that agent (never the agent's own
// token), so the child knows who calls. A 2026-era third-party child (no sessions) is shared.
// Liveness: a ping loop on the probe connection; a dead child is retried with backoff.
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { HttpServerConfig } from '../../config/schema.ts';
import { createRestartTracker } from '../../supervisor/backoff.ts';
import { endConnection, openHttpConnection } from './http-connection.ts';
import { isSessionExpired } from './http-errors.ts';
import type { Upstream, UpstreamConnection, UpstreamHooks, UpstreamStatus } from './types.ts';

export { isNetworkFailure, isSessionExpired, isStaleConnection } from './http-errors.ts';

export interface ChildTokenIssuer {
  issue(child: string, agent: string): Promise<string>;
}

export interface HttpUpstreamOptions {
  config: HttpServerConfig;
  hooks: UpstreamHooks;
  logger: Logger;
  childTokens?: ChildTokenIssuer;
  /** Ping interval while ready (default 5000 ms). */
  healthIntervalMs?: number;
}

/** The identity the proxy uses for its own probe/catalog connection to a first-party child. */
export const probeAgent = 'mcpcp-proxy';

export function createHttpUpstream(options: HttpUpstreamOptions): Upstream {
  const { config, hooks } = options;
  const logger = options.logger.child({ upstream: config.id });
  const url = new URL(config.url);
  const restarts = createRestartTracker(config.restart);
  const healthIntervalMs = options.healthIntervalMs ?? 5000;
  /** Whether the child keeps sessions, as the probe connection last found out (2025 era). */
  let sessionful = false;
  const perAgent = (): boolean => config.firstParty || sessionful;
  if (config.firstParty && options.childTokens === undefined) {
    throw new McpcpError(
      'ERR_CONFIG_INVALID',
      `server ${config.id} is firstParty but no child token issuer was given`,
    );
  }
  let status: UpstreamStatus = { phase: 'starting', address: config.url };
  let generation = 0;
  let closed = false;
  let probe: UpstreamConnection | undefined;
  const connections = new Map<string, Promise<UpstreamConnection>>();
  /** The settled entries of `connections`, so a dead one can be dropped synchronously. */
  const settled = new Map<string, UpstreamConnection>();
  /** Closes a replaced client later, so calls still running on it can finish. */
  const retire = (conn: UpstreamConnection): void => {
    const timer = setTimeout(() => void conn.client.close().catch(() => undefined), 30_000);
    timer.unref();
  };
  let retryTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];

  const setStatus = (next: UpstreamStatus): void => {
    const changed = next.phase !== status.phase;
    status = { ...next, address: config.url };
    if (changed) hooks.onStateChange(config.id);
    if (next.phase !== 'starting') {
      const w = waiters;
      waiters = [];
      for (const wake of w) wake();
    }
  };

  // Asked before every request to the child. The issuer reuses a token only within the first half of its
  // life (auth/internal.ts); a second cache here would stack on that one and hand out tokens near expiry.
  const tokenFor = (agent: string): Promise<string> => options.childTokens!.issue(config.id, agent);

  const open = (agent: string | undefined): Promise<UpstreamConnection> =>
    openHttpConnection({
      url,
      config,
      hooks,
      logger,
      agent,
      ...(config.firstParty && agent !== undefined ? { token: () => tokenFor(agent) } : {}),
      generation,
    });

  /**
   * Forgets every connection and finishes each with `end` (by default a plain close); resolves once the
   * open ones are finished. One still opening is finished once open, without holding anyone up.
   */
  const dropAll = (
    end: (conn: UpstreamConnection) => Promise<void> = (conn) => conn.client.close(),
  ): Promise<void> => {
    const open = new Set<UpstreamConnection>(settled.values());
    if (probe !== undefined) open.add(probe);
    for (const [key, pending] of connections)
      if (!settled.has(key)) void pending.then(end).catch(() => undefined);
    connections.clear();
    settled.clear();
    probe = undefined;
    return Promise.all([...open].map((conn) => end(conn).catch(() => undefined))).then(() => undefined);
  };

  const markDown = (reason: string): void => {
    if (closed || status.phase === 'down' || status.phase === 'crash-looping') return;
    void dropAll();
    const decision = restarts.onFailure();
    setStatus({ phase: decision.crashLooping ? 'crash-looping' : 'down', lastError: reason });
    logger.warn({ reason, delayMs: decision.delayMs }, 'child unreachable; retrying');
    retryTimer = setTimeout(() => void connectProbe(), decision.delayMs);
  };

  /**
   * 2026-era children announce list changes only on a subscriptions/listen stream. It is held open
   * on the probe connection and reopened if the child ends it while the probe is still current.
   */
  const watchLists = (conn: UpstreamConnection): void => {
    conn.client
      .listen(
        { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true },
        { timeout: config.readyTimeoutMs },
      )
      .then(async (subscription) => {
        const reason = await subscription.closed;
        if (reason === 'local' || closed || probe !== conn) return;
        const timer = setTimeout(() => {
          if (!closed && probe === conn) watchLists(conn);
        }, 500);
        timer.unref();
      })
      .catch((error: unknown) =>
        logger.debug(
          { err: error instanceof Error ? error.message : String(error) },
          'no list-change stream',
        ),
      );
  };

  const connectProbe = async (): Promise<void> => {
    if (closed) return;
    try {
      generation += 1;
      const conn = await open(config.firstParty ? probeAgent : undefined);
      if (closed) {
        await conn.client.close();
        return;
      }
      probe = conn;
      sessionful = conn.client.getProtocolEra() !== 'modern';
      if (!sessionful) watchLists(conn);
      if (!perAgent()) {
        connections.set('*', Promise.resolve(conn));
        settled.set('*', conn);
      }
      const wasReady = status.phase === 'ready';
      setStatus({ phase: 'ready' });
      // A reconnect while ready may face a different process: have the catalog re-read.
      if (wasReady) hooks.onStateChange(config.id);
      logger.info('child ready');
      scheduleHealth();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      status = { ...status, phase: 'starting' };
      markDown(reason);
    }
  };

  /** 2026-era children have no ping: `server/discover` is their cheap liveness probe. */
  const probeOnce = (conn: UpstreamConnection): Promise<unknown> => {
    const options = { timeout: Math.max(1000, healthIntervalMs) };
    return conn.client.getProtocolEra() === 'modern'
      ? conn.client.discover(options)
      : conn.client.ping(options);
  };

  let failedChecks = 0;
  const scheduleHealth = (delayMs = healthIntervalMs): void => {
    if (healthTimer) clearTimeout(healthTimer);
    healthTimer = setTimeout(() => {
      const p = probe;
      if (!p || closed) return;
      probeOnce(p)
        .then(() => {
          failedChecks = 0;
          restarts.reset();
          scheduleHealth();
        })
        .catch((error: unknown) => {
          if (isSessionExpired(error)) {
            // The child restarted behind the same URL: new sessions, same upstream, no outage.
            // Per-agent connections find out on their next call and reconnect then.
            logger.info('child forgot our session; reconnecting');
            const old = probe;
            if (old) {
              probe = undefined;
              if (settled.get('*') === old) {
                connections.delete('*');
                settled.delete('*');
              }
              retire(old);
            }
            void connectProbe();
            return;
          }
          // One failed check may be a blip (a reset keep-alive socket); two in a row is an outage.
          failedChecks += 1;
          if (failedChecks < 2) {
            scheduleHealth(Math.min(250, healthIntervalMs));
            return;
          }
          failedChecks = 0;
          markDown(error instanceof Error ? error.message : String(error));
        });
    }, delayMs);
    healthTimer.unref();
  };

  return {
    id: config.id,
    transport: 'http',
    async start() {
      await connectProbe();
    },
    async connection(agent: string) {
      if (status.phase === 'starting') await new Promise<void>((resolve) => waiters.push(resolve));
      if (status.phase !== 'ready') {
        throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', `server ${config.id} is unavailable`, {
          details: { server: config.id, phase: status.phase },
        });
      }
      const key = perAgent() ? agent : '*';
      let pending = connections.get(key);
      if (pending === undefined) {
        const opening = open(perAgent() ? agent : undefined);
        pending = opening;
        connections.set(key, opening);
        opening.then(
          (conn) => {
            if (connections.get(key) === opening) settled.set(key, conn);
          },
          () => {
            if (connections.get(key) === opening) connections.delete(key);
          },
        );
      }
      return pending;
    },
    anyConnection: () => probe,
    discard(conn) {
      for (const [key, held] of settled) {
        if (held !== conn) continue;
        settled.delete(key);
        connections.delete(key);
      }
      if (probe === conn) {
        probe = undefined;
        void connectProbe();
      }
      retire(conn);
    },
    release(agent) {
      if (!perAgent() || agent === probeAgent) return;
      const pending = connections.get(agent);
      if (pending === undefined) return;
      connections.delete(agent);
      settled.delete(agent);
      void pending.then(endConnection, () => undefined);
    },
    retryNow() {
      if (closed || (status.phase !== 'down' && status.phase !== 'crash-looping')) return;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      void connectProbe();
    },
    status: () => status,
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (healthTimer) clearTimeout(healthTimer);
      // The proxy is going: each session it holds with the child is ended, as a client that no longer needs
      // one should, so a child that outlives the proxy (a remote server) does not keep them.
      const ending = dropAll(endConnection);
      const w = waiters;
      waiters = [];
      for (const wake of w) wake();
      await ending;
    },
  };
}
