// The gateway's shared state: upstreams, their catalogs, the name tables, per-agent views, the
// endpoints (legacy sessions, modern per-agent handlers) that hear list changes and resource
// updates. Sending a call to a child is call-child.ts; what a child says on its own is child-messages.ts.
import type { LoggingLevel } from '@modelcontextprotocol/server';
import type { Logger } from '../../lib/log.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import {
  createUpstream,
  isSessionExpired,
  type CallerEra,
  type StdioSupervision,
  type Upstream,
  type UpstreamConnection,
} from '../upstreams/index.ts';
import { createAgentIdle } from './agent-idle.ts';
import { createAnnouncer, type ListKind } from './announce.ts';
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
  /** The era the agent speaks here: it sees the catalogs of that era's faces of the children. */
  readonly era: CallerEra;
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
  /** The upstream lanes (direct-request.ts, child-http-transport.ts's direct POST); default on. */
  directLanes?: boolean;
}

export type { CallOptions } from './call-child.ts';

export { levelAllows } from './log-levels.ts';

export function createCore(options: CoreOptions) {
  const logger = options.logger;
  const servers = options.servers.map((s) => ({ id: s.id, namespace: s.namespace }));
  let policy = options.policy;
  let policyVersion = 0;
  let tables: NameTables = emptyTables();
  /** The tables 2025-era agents see: `tables` itself unless some child has a 2025 face of its own. */
  let legacyTables: NameTables = tables;
  let tablesVersion = 0;
  const reported = new Set<string>();
  const catalogs = new Map<string, ChildCatalog>();
  /** What a child with both faces lists on its 2025 face (its 2026 face's is in `catalogs`). */
  const legacyCatalogs = new Map<string, ChildCatalog>();
  const refreshing = new Map<string, Promise<void>>();
  const refreshAgain = new Set<string>();
  const views = new Map<string, { t: number; p: number; view: AgentView }>();
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
  const unprefixed = options.servers.find((s) => s.namespace === '')?.id;
  for (const config of options.servers) {
    upstreams.set(
      config.id,
      createUpstream(config, {
        logger,
        ...(options.childTokens === undefined ? {} : { childTokens: options.childTokens }),
        ...(options.healthIntervalMs === undefined ? {} : { healthIntervalMs: options.healthIntervalMs }),
        ...(options.supervision === undefined ? {} : { supervision: options.supervision }),
        directLanes: options.directLanes ?? true,
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
    listChanged: (id, kind) => childListChanged(id, kind),
  });
  const { relayChildRequest, onChildNotification } = childMessages;

  function onStateChange(id: string): void {
    if (closed) return;
    const upstream = upstreams.get(id);
    if (upstream?.status().phase === 'ready') {
      void refresh(id);
    } else if (catalogs.delete(id)) {
      legacyCatalogs.delete(id);
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

  async function fetchFace(upstream: Upstream, era: CallerEra): Promise<ChildCatalog | undefined> {
    let conn = upstream.anyConnection(era);
    if (!conn) return undefined;
    try {
      return await fetchCatalog(conn);
    } catch (error) {
      if (!isSessionExpired(error)) throw error;
      upstream.discard(conn);
      conn = await upstream.connection('mcpcp-proxy', era);
      return await fetchCatalog(conn);
    }
  }

  async function refreshOnce(id: string): Promise<void> {
    const upstream = upstreams.get(id);
    if (!upstream?.anyConnection()) return;
    try {
      const catalog = await fetchFace(upstream, 'modern');
      const legacyFace = upstream.anyConnection('legacy') !== upstream.anyConnection();
      const legacy = legacyFace ? await fetchFace(upstream, 'legacy') : undefined;
      if (closed || upstream.status().phase !== 'ready' || catalog === undefined) return;
      catalogs.set(id, catalog);
      if (legacy !== undefined) legacyCatalogs.set(id, legacy);
      else legacyCatalogs.delete(id);
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
    const shown = admitted(catalogs);
    tables = buildTables(servers, shown, tablesVersion, logger, reported);
    legacyTables =
      legacyCatalogs.size === 0
        ? tables
        : buildTables(
            servers,
            admitted(new Map([...catalogs, ...legacyCatalogs])),
            tablesVersion,
            logger,
            reported,
          );
    announce();
  }

  /** The catalogs with the tools the pin gate holds back left out: they are neither listed nor routed. */
  function admitted(from: ReadonlyMap<string, ChildCatalog>): ReadonlyMap<string, ChildCatalog> {
    const gate = options.toolGate;
    if (gate === undefined) return from;
    return new Map([...from].map(([id, c]) => [id, { ...c, tools: gate.admit(id, c.tools) }]));
  }
  options.toolGate?.onChange(() => {
    if (!closed) rebuild();
  });

  const tablesOf = (era: CallerEra): NameTables => (era === 'legacy' ? legacyTables : tables);

  function view(principal: Principal, era: CallerEra = 'modern'): AgentView {
    // The policy sees the agent and its groups (config or the token's `groups` claim): cache by both.
    const groups = principal.claims.groups;
    const who = Array.isArray(groups) ? `${principal.agent}\0${groups.join('\0')}` : principal.agent;
    const key = tablesOf(era) === tables ? who : `${who}\0legacy`;
    const held = views.get(key);
    if (held && held.t === tablesVersion && held.p === policyVersion) return held.view;
    const fresh = buildView(tablesOf(era), policy, principal);
    views.set(key, { t: tablesVersion, p: policyVersion, view: fresh });
    return fresh;
  }

  const announcer = createAnnouncer({ endpoints, view, tables: tablesOf, policy: () => policy });
  const announce = (): void => announcer.announce();

  /** A child said its `kind` list changed: re-read it, then tell whom it concerns (announce.ts). */
  function childListChanged(id: string, kind: ListKind): void {
    announcer.childSaid(id, kind);
    void refresh(id);
  }

  async function subscribe(endpoint: Endpoint, server: string, uri: string): Promise<void> {
    const upstream = upstreams.get(server);
    if (!upstream) return;
    await subscriptions.add(await upstream.connection(endpoint.agent, endpoint.era), uri, endpoint);
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
    directLanes: options.directLanes ?? true,
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
    /**
     * The child with no namespace (`namespace: ''`, at most one), which also answers tool and prompt names
     * no child lists (some servers keep tools they do not list): it answers them as it would directly.
     */
    unprefixed(): string | undefined {
      return unprefixed !== undefined && upstreams.get(unprefixed)?.status().phase === 'ready'
        ? unprefixed
        : undefined;
    },
    /**
     * Whether child `id` (any child, when undefined) accepts resource subscriptions on its face of `era`:
     * the proxy advertises and attempts only what its children can do.
     */
    canSubscribe(era: CallerEra, id?: string): boolean {
      const ids = id === undefined ? [...upstreams.keys()] : [id];
      return ids.some(
        (server) =>
          upstreams.get(server)?.anyConnection(era)?.client.getServerCapabilities()?.resources?.subscribe ===
          true,
      );
    },
    /** The name tables agents of `era` route through (default 2026-07-28). */
    tables: (era: CallerEra = 'modern') => tablesOf(era),
    view,
    childListChanged,
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
      announcer.registered(endpoint);
      return () => {
        set.delete(endpoint);
        announcer.unregistered(endpoint, set);
        if (set.size === 0) endpoints.delete(endpoint.agent);
        subscriptions.remove(endpoint);
      };
    },
    setPolicy(next: CompiledPolicy): void {
      policy = next;
      policyVersion += 1;
      announce();
    },
    /** The agent's roots changed: tell every ready child its calls can reach. */
    rootsChanged(agent: string, era: CallerEra): void {
      for (const upstream of upstreams.values()) {
        if (upstream.status().phase !== 'ready') continue;
        void upstream
          .connection(agent, era)
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
          .connection(agent, 'legacy')
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
