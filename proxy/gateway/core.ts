// The gateway's shared state: upstreams, their catalogs, the name tables, per-agent views, the
// endpoints (legacy sessions, modern per-agent handlers) that hear list changes and resource
// updates. Sending a call to a child is call-child.ts; what a child says on its own is child-messages.ts.
import type { LoggingLevel } from '@modelcontextprotocol/server';
import type { Logger } from '../../lib/log.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import {
  createUpstream,
  isSessionExpired,
  type StdioSupervision,
  type Upstream,
  type UpstreamConnection,
} from '../upstreams/index.ts';
import { createAgentIdle } from './agent-idle.ts';
import { buildTables, emptyTables, type ChildCatalog, type NameTables } from './catalog.ts';
import { createCallChild } from './call-child.ts';
import { createChildMessageRouter } from './child-messages.ts';
import type { CompiledPolicy } from './policy.ts';
import { createCallRegistry, type Relay } from './relay.ts';
import { createSubscriptions } from './subscriptions.ts';
import type { Principal } from './types.ts';
import { buildView, type AgentView } from './view.ts';
import type { CallEvent } from './index.ts';
import type { ToolGate } from '../tool-pins/pins.ts';

/** Something that hears about one agent's changes: a legacy session or a modern per-agent handler. */
export interface Endpoint {
  readonly agent: string;
  session: string;
  principal: Principal;
  logLevel?: LoggingLevel;
  toolsChanged(): void;
  promptsChanged(): void;
  resourcesChanged(): void;
  resourceUpdated(uri: string): void;
  /** Out-of-call notifications such as log lines (legacy sessions only: they have a stream for them). */
  notify?(method: string, params: Record<string, unknown>): void;
  /**
   * Asks the agent's client for its roots outside any call (legacy sessions only); undefined when the
   * client did not declare it can list them.
   */
  listRoots?(signal: AbortSignal): Promise<Record<string, unknown>> | undefined;
}

export interface CoreOptions {
  servers: McpcpConfig['servers'];
  policy: CompiledPolicy;
  childTokens?: { issue(child: string, agent: string): Promise<string> };
  callTimeoutMs: number;
  logger: Logger;
  onCall?: (e: CallEvent) => void;
  /** Liveness ping interval for HTTP children. */
  healthIntervalMs?: number;
  /** Log sink, log files and ping of the stdio children the proxy supervises. */
  supervision?: StdioSupervision;
  /** An agent gone this long (no session, listen stream or call) is let go (default 10 min). */
  agentIdleMs?: number;
  /** Tool-definition pinning (proxy/tool-pins/): which of a child's tools agents may see. */
  toolGate?: ToolGate | undefined;
}

export type { CallOptions } from './call-child.ts';

export { levelAllows } from './log-levels.ts';

export function createCore(options: CoreOptions) {
  const logger = options.logger;
  const servers = options.servers.map((s) => ({ id: s.id, namespace: s.namespace }));
  let policy = options.policy;
  let policyVersion = 0;
  let tables: NameTables = emptyTables();
  let tablesVersion = 0;
  const reported = new Set<string>();
  const catalogs = new Map<string, ChildCatalog>();
  const refreshing = new Map<string, Promise<void>>();
  const refreshAgain = new Set<string>();
  const views = new Map<string, { t: number; p: number; view: AgentView }>();
  const lastSignature = new Map<string, AgentView['signature']>();
  const endpoints = new Map<string, Set<Endpoint>>();
  const subscriptions = createSubscriptions({ timeoutMs: options.callTimeoutMs });
  const calls = createCallRegistry();
  let closed = false;
  const idleListeners: Array<(agent: string) => void> = [];
  const idle = createAgentIdle({
    idleMs: options.agentIdleMs ?? 10 * 60_000,
    onIdle: (agent) => {
      logger.debug({ agent }, 'agent gone: its child sessions are ended');
      for (const upstream of upstreams.values()) upstream.release(agent);
      for (const key of views.keys()) if (key === agent || key.startsWith(`${agent}\0`)) views.delete(key);
      for (const listener of idleListeners) listener(agent);
    },
  });

  const upstreams = new Map<string, Upstream>();
  for (const config of options.servers) {
    upstreams.set(
      config.id,
      createUpstream(config, {
        logger,
        ...(options.childTokens === undefined ? {} : { childTokens: options.childTokens }),
        ...(options.healthIntervalMs === undefined ? {} : { healthIntervalMs: options.healthIntervalMs }),
        ...(options.supervision === undefined ? {} : { supervision: options.supervision }),
        hooks: {
          onChildRequest: (conn, request, signal, caller) =>
            relayChildRequest(conn, request, signal, caller as Relay | undefined),
          onChildNotification: (conn, notification, caller) =>
            onChildNotification(conn, notification, caller as Relay | undefined),
          onStateChange: (id) => onStateChange(id),
        },
      }),
    );
  }

  const childMessages = createChildMessageRouter({
    calls,
    subscriptions,
    endpoints,
    logger,
    refresh: (id) => void refresh(id),
  });
  const { relayChildRequest, onChildNotification } = childMessages;

  function onStateChange(id: string): void {
    if (closed) return;
    const upstream = upstreams.get(id);
    if (upstream?.status().phase === 'ready') {
      void refresh(id);
    } else if (catalogs.delete(id)) {
      subscriptions.forgetUpstream(id);
      rebuild();
    }
  }

  async function fetchCatalog(conn: UpstreamConnection): Promise<ChildCatalog> {
    const caps = conn.client.getServerCapabilities() ?? {};
    const o = { timeout: options.callTimeoutMs, cacheMode: 'bypass' as const };
    const [tools, prompts, resources, templates] = await Promise.all([
      caps.tools ? conn.client.listTools(undefined, o).then((r) => r.tools) : [],
      caps.prompts ? conn.client.listPrompts(undefined, o).then((r) => r.prompts) : [],
      caps.resources ? conn.client.listResources(undefined, o).then((r) => r.resources) : [],
      caps.resources ? conn.client.listResourceTemplates(undefined, o).then((r) => r.resourceTemplates) : [],
    ]);
    return { generation: conn.generation, tools, prompts, resources, templates };
  }

  async function refreshOnce(id: string): Promise<void> {
    const upstream = upstreams.get(id);
    let conn = upstream?.anyConnection();
    if (!upstream || !conn) return;
    try {
      let catalog: ChildCatalog;
      try {
        catalog = await fetchCatalog(conn);
      } catch (error) {
        if (!isSessionExpired(error)) throw error;
        upstream.discard(conn);
        conn = await upstream.connection('mcpcp-proxy');
        catalog = await fetchCatalog(conn);
      }
      if (closed || upstream.status().phase !== 'ready') return;
      catalogs.set(id, catalog);
      rebuild();
    } catch (error) {
      logger.warn(
        { server: id, err: error instanceof Error ? error.message : String(error) },
        'catalog refresh failed',
      );
    }
  }

  function refresh(id: string): Promise<void> {
    const running = refreshing.get(id);
    if (running) {
      refreshAgain.add(id);
      return running;
    }
    const run = (async () => {
      do {
        refreshAgain.delete(id);
        await refreshOnce(id);
      } while (refreshAgain.has(id) && !closed);
    })().finally(() => refreshing.delete(id));
    refreshing.set(id, run);
    return run;
  }

  function rebuild(): void {
    tablesVersion += 1;
    tables = buildTables(servers, admitted(), tablesVersion, logger, reported);
    announce();
  }

  /** The catalogs with the tools the pin gate holds back left out: they are neither listed nor routed. */
  function admitted(): ReadonlyMap<string, ChildCatalog> {
    const gate = options.toolGate;
    if (gate === undefined) return catalogs;
    return new Map([...catalogs].map(([id, c]) => [id, { ...c, tools: gate.admit(id, c.tools) }]));
  }
  options.toolGate?.onChange(() => {
    if (!closed) rebuild();
  });

  function view(principal: Principal): AgentView {
    // The policy sees the agent and its groups (config or the token's `groups` claim): cache by both.
    const groups = principal.claims.groups;
    const key = Array.isArray(groups) ? `${principal.agent}\0${groups.join('\0')}` : principal.agent;
    const held = views.get(key);
    if (held && held.t === tablesVersion && held.p === policyVersion) return held.view;
    const fresh = buildView(tables, policy, principal);
    views.set(key, { t: tablesVersion, p: policyVersion, view: fresh });
    return fresh;
  }

  /** Tells each agent whose visible lists changed, once per change. */
  function announce(): void {
    for (const [agent, set] of endpoints) {
      const first = set.values().next().value;
      if (first === undefined) continue;
      const next = view(first.principal).signature;
      const prev = lastSignature.get(agent);
      lastSignature.set(agent, next);
      if (prev === undefined) continue;
      for (const endpoint of set) {
        if (prev.tools !== next.tools) endpoint.toolsChanged();
        if (prev.prompts !== next.prompts) endpoint.promptsChanged();
        if (prev.resources !== next.resources) endpoint.resourcesChanged();
      }
    }
  }

  async function subscribe(endpoint: Endpoint, server: string, uri: string): Promise<void> {
    const upstream = upstreams.get(server);
    if (!upstream) return;
    await subscriptions.add(await upstream.connection(endpoint.agent), uri, endpoint);
  }

  function deliverCall(event: CallEvent): void {
    try {
      options.onCall?.(event);
    } catch (error) {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'onCall listener threw');
    }
  }

  const callChild = createCallChild({
    upstreams,
    calls,
    callTimeoutMs: options.callTimeoutMs,
    logger,
    toolsOf: (server) => catalogs.get(server)?.tools,
    hold: idle.hold,
  });

  return {
    upstreams,
    calls,
    /** Marks an agent busy (a session, a listen stream, a request) until the returned function runs. */
    hold: idle.hold,
    /** Hears each agent let go, to drop what else is kept for it alone. */
    onAgentIdle(listener: (agent: string) => void): void {
      idleListeners.push(listener);
    },
    get policy() {
      return policy;
    },
    tables: () => tables,
    view,
    callChild,
    subscribe,
    unsubscribe(endpoint: Endpoint, uri: string): void {
      subscriptions.remove(endpoint, uri);
    },
    /**
     * Records a call (audit line, metrics) once its answer is on its way: after the current I/O callbacks,
     * so formatting the audit line is not on the call's own latency path.
     */
    emit(event: CallEvent): void {
      if (options.onCall !== undefined) setImmediate(deliverCall, event);
    },
    register(endpoint: Endpoint): () => void {
      let set = endpoints.get(endpoint.agent);
      if (!set) endpoints.set(endpoint.agent, (set = new Set()));
      set.add(endpoint);
      if (!lastSignature.has(endpoint.agent))
        lastSignature.set(endpoint.agent, view(endpoint.principal).signature);
      return () => {
        set.delete(endpoint);
        if (set.size === 0) {
          endpoints.delete(endpoint.agent);
          lastSignature.delete(endpoint.agent);
        }
        subscriptions.remove(endpoint);
      };
    },
    setPolicy(next: CompiledPolicy): void {
      policy = next;
      policyVersion += 1;
      announce();
    },
    /** The agent's roots changed: tell every ready child its calls can reach. */
    rootsChanged(agent: string): void {
      for (const upstream of upstreams.values()) {
        if (upstream.status().phase !== 'ready') continue;
        void upstream
          .connection(agent)
          .then((conn) => conn.client.sendRootsListChanged())
          .catch(() => undefined);
      }
    },
    /**
     * A session set its log level. The proxy filters every session itself; the level is passed on
     * only to 2025-era connections of this agent alone (first-party), since on a shared child it
     * would silence other agents' logs. 2026-era children get the level per request in `_meta`.
     */
    setLogLevel(agent: string, level: LoggingLevel): void {
      for (const upstream of upstreams.values()) {
        if (upstream.status().phase !== 'ready') continue;
        void upstream
          .connection(agent)
          .then((conn) =>
            conn.agent === agent &&
            conn.client.getProtocolEra() === 'legacy' &&
            conn.client.getServerCapabilities()?.logging
              ? conn.client.setLoggingLevel(level, { timeout: options.callTimeoutMs })
              : undefined,
          )
          .catch(() => undefined);
      }
    },
    async start(): Promise<void> {
      await Promise.all([...upstreams.values()].map((u) => u.start()));
      await Promise.all([...upstreams.keys()].map((id) => refresh(id)));
    },
    async close(): Promise<void> {
      closed = true;
      idle.close();
      await Promise.all([...upstreams.values()].map((u) => u.close()));
    },
  };
}

export type Core = ReturnType<typeof createCore>;
