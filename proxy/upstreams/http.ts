// A Streamable HTTP child. Where the child keeps sessions (the 2025 era) every agent gets a session of
// its own, so what the child keeps per session (log level, subscriptions, state of its own) and what it
// sends on the session's stream belong to that agent only. First-party children get one connection per
// agent in either era, each carrying a short-lived internal JWT for that agent (never the agent's own
// token), so the child knows who calls. A 2026-era third-party child (no sessions) is shared.
// A child that speaks both eras (`protocol: auto` found 2026-07-28, and it also keeps 2025 sessions) serves
// each agent over the face of the agent's own era: 2025-era agents get a 2025 session of their own, so what
// they see and do is what they would see and do directly (ARCHITECTURE.md decision 3).
// Liveness: a ping loop on the probe connection; a dead child is retried with backoff.
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { HttpServerConfig } from '../../config/schema.ts';
import { createRestartTracker } from '../../supervisor/backoff.ts';
import { endConnection, openHttpConnection, openSessionfulLegacyFace } from './http-connection.ts';
import { isSessionExpired } from './http-errors.ts';
import { watchListChanges } from './list-stream.ts';
import type { CallerEra, Upstream, UpstreamConnection, UpstreamHooks, UpstreamStatus } from './types.ts';

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
  /** The direct POST of child-http-transport.ts; default on. */
  directLanes?: boolean;
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
  /**
   * The child's 2025 face, when the probe found 2026-07-28 and the child also answers a 2025 initialize:
   * 2025-era agents are served over it. Undefined: no such face (or the probe itself is 2025).
   */
  let legacyProbe: UpstreamConnection | undefined;
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

  const open = (agent: string | undefined, era?: 'legacy'): Promise<UpstreamConnection> =>
    openHttpConnection({
      url,
      config,
      hooks,
      logger,
      agent,
      ...(era === undefined ? {} : { era }),
      ...(config.firstParty && agent !== undefined ? { token: () => tokenFor(agent) } : {}),
      generation,
      directLanes: options.directLanes ?? true,
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
    if (legacyProbe !== undefined) open.add(legacyProbe);
    for (const [key, pending] of connections)
      if (!settled.has(key)) void pending.then(end).catch(() => undefined);
    connections.clear();
    settled.clear();
    probe = undefined;
    legacyProbe = undefined;
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

  const connectProbe = async (): Promise<void> => {
    if (closed) return;
    try {
      generation += 1;
      const conn = await open(config.firstParty ? probeAgent : undefined);
      if (closed) {
        await conn.client.close();
        return;
      }
      const modern = conn.client.getProtocolEra() === 'modern';
      // Found before the child is ready, so no 2025-era agent is ever sent to the wrong face.
      const legacyFace = modern && config.protocol === 'auto' ? await openLegacyFace(conn) : undefined;
      if (closed) {
        await Promise.all([conn.client.close(), legacyFace?.client.close()]);
        return;
      }
      if (legacyProbe !== undefined) retire(legacyProbe);
      probe = conn;
      legacyProbe = legacyFace;
      sessionful = !modern;
      if (!sessionful) {
        watchListChanges(conn, {
          current: () => !closed && probe === conn,
          timeoutMs: config.readyTimeoutMs,
          logger,
          reopened: () => hooks.onStateChange(config.id),
        });
      }
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

  const openLegacyFace = (modern: UpstreamConnection): Promise<UpstreamConnection | undefined> =>
    openSessionfulLegacyFace(() => open(modern.agent, 'legacy'), logger);

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
    async connection(agent: string, era: CallerEra = 'modern') {
      if (status.phase === 'starting') await new Promise<void>((resolve) => waiters.push(resolve));
      if (status.phase !== 'ready') {
        throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', `server ${config.id} is unavailable`, {
          details: { server: config.id, phase: status.phase },
        });
      }
      // A 2025-era agent on a child with a 2025 face: a session of its own on that face.
      const legacy = era === 'legacy' && legacyProbe !== undefined;
      const key = legacy ? `legacy\0${agent}` : perAgent() ? agent : '*';
      let pending = connections.get(key);
      if (pending === undefined) {
        const opening = legacy ? open(agent, 'legacy') : open(perAgent() ? agent : undefined);
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
    anyConnection: (era) => (era === 'legacy' ? (legacyProbe ?? probe) : probe),
    discard(conn) {
      for (const [key, held] of settled) {
        if (held !== conn) continue;
        settled.delete(key);
        connections.delete(key);
      }
      if (probe === conn) {
        probe = undefined;
        void connectProbe();
      } else if (legacyProbe === conn && probe !== undefined) {
        // The child forgot the 2025 face's session (it restarted): open it again.
        legacyProbe = undefined;
        const current = probe;
        void openLegacyFace(current).then((next) => {
          if (probe === current && !closed) legacyProbe = next;
          else void next?.client.close().catch(() => undefined);
        });
      }
      retire(conn);
    },
    release(agent) {
      if (agent === probeAgent) return;
      for (const key of perAgent() ? [agent, `legacy\0${agent}`] : [`legacy\0${agent}`]) {
        const pending = connections.get(key);
        if (pending === undefined) continue;
        connections.delete(key);
        settled.delete(key);
        void pending.then(endConnection, () => undefined);
      }
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
