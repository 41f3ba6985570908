// Builds the low-level SDK Server an agent talks to: one per legacy session, one per modern request.
// Its handlers read the agent's view, check the policy, route through the name tables and relay.
// It must not know about HTTP; legacy.ts and modern.ts own the transports.
import { ProtocolError, ProtocolErrorCode, Server, type ServerContext } from '@modelcontextprotocol/server';
import { routeResource } from './catalog.ts';
import type { Core, Endpoint } from './core.ts';
import { levelAllows } from './core.ts';
import { notFound } from './errors.ts';
import type { FlowStore } from './flows.ts';
import type { RequestStateSealer } from './request-state.ts';
import { callViaFlow } from './front-flow.ts';
import { refuseUndeclared } from './client-capabilities.ts';
import { decideCall, visible, type Kind } from './policy.ts';
import type { Relay } from './relay.ts';
import type { ChildRequest } from '../upstreams/index.ts';
import type { RequestId } from '../../lib/mcp-direct-post.ts';
import type { Principal } from './types.ts';
import { page } from './view.ts';
import type { CallEvent } from './index.ts';

export interface FrontContext {
  core: Core;
  principal: Principal;
  era: 'legacy' | 'modern';
  session: string;
  /** Legacy sessions: the endpoint that carries log level and subscriptions. */
  endpoint?: Endpoint;
  flows: FlowStore;
  /** Seals the requestState of this proxy's `input_required` rounds (request-state.ts). */
  states: RequestStateSealer;
  pageSize: number;
  /** Modern requests: told each `_meta` envelope the SDK accepted for a tools/call (modern-direct.ts). */
  onEnvelope?: (envelope: Record<string, unknown>) => void;
}

const privateCache = { cacheScope: 'private' as const, ttlMs: 0 };

type Params = Record<string, unknown>;
type Notification = { method: string; params?: Params };

/** A child's request (sampling, elicitation, roots) as the SDK's typed request to the caller. */
function asRequest(r: ChildRequest) {
  return {
    method: r.method as 'elicitation/create',
    ...(r.params === undefined ? {} : { params: r.params }),
  };
}

export interface FrontServer {
  server: Server;
  /**
   * `tools/call` on a 2025-era session without the SDK's per-request dispatch (proxy/gateway/direct-call.ts):
   * the same routing, policy, audit and relay as the registered handler; the caller's notifications and
   * requests ride the request's own stream (`relatedRequestId`).
   */
  callTool(id: RequestId, params: Params, signal: AbortSignal): Promise<Params>;
}

export function buildFrontServer(fc: FrontContext): FrontServer {
  const { core, principal } = fc;
  const server = new Server(
    { name: 'mcpcp', version: '0.1.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        // Subscriptions only where a child takes them: an agent must not wait on what nobody can do.
        resources: { subscribe: core.canSubscribe(fc.era), listChanged: true },
        logging: {},
        completions: {},
      },
      cacheHints: {
        'tools/list': privateCache,
        'prompts/list': privateCache,
        'resources/list': privateCache,
        'resources/templates/list': privateCache,
        'resources/read': privateCache,
      },
    },
  );

  const listed = <T>(items: readonly T[], cursor: unknown): { items: T[]; nextCursor?: string } => {
    try {
      return page(
        items,
        typeof cursor === 'string' ? cursor : undefined,
        fc.pageSize,
        core.tables(fc.era).version,
      );
    } catch {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
    }
  };

  server.setRequestHandler('tools/list', (req) => {
    const p = listed(core.view(principal, fc.era).tools, req.params?.cursor);
    return { tools: p.items, ...(p.nextCursor === undefined ? {} : { nextCursor: p.nextCursor }) };
  });
  server.setRequestHandler('prompts/list', (req) => {
    const p = listed(core.view(principal, fc.era).prompts, req.params?.cursor);
    return { prompts: p.items, ...(p.nextCursor === undefined ? {} : { nextCursor: p.nextCursor }) };
  });
  server.setRequestHandler('resources/list', (req) => {
    const p = listed(core.view(principal, fc.era).resources, req.params?.cursor);
    return { resources: p.items, ...(p.nextCursor === undefined ? {} : { nextCursor: p.nextCursor }) };
  });
  server.setRequestHandler('resources/templates/list', (req) => {
    const p = listed(core.view(principal, fc.era).templates, req.params?.cursor);
    return {
      resourceTemplates: p.items,
      ...(p.nextCursor === undefined ? {} : { nextCursor: p.nextCursor }),
    };
  });

  /** Finds the route for a name, or answers exactly like an unknown name. */
  const resolve = (kind: Kind, method: string, name: string, args?: Params) => {
    const tables = core.tables(fc.era);
    const started = performance.now();
    let server: string | undefined;
    let original = name;
    if (kind === 'tool') {
      const e = tables.tool.get(name);
      server = e?.server ?? core.unprefixed();
      original = e?.original ?? name;
    } else if (kind === 'prompt') {
      const e = tables.prompt.get(name);
      server = e?.server ?? core.unprefixed();
      original = e?.original ?? name;
    } else {
      server = routeResource(tables, name)?.server;
    }
    const deny = (decision: 'deny' | 'unknown', rule: string, error: Error): never => {
      core.emit({
        agent: principal.agent,
        method,
        name,
        ...(server === undefined ? {} : { server }),
        decision,
        rule,
        durationMs: performance.now() - started,
        outcome: 'denied',
      });
      throw error;
    };
    if (server === undefined) return deny('unknown', 'none', notFound(kind, name));
    const decision = decideCall(core.policy, principal, kind, server, name, args);
    if (!decision.allowed) {
      // Only a listed name (allowed apart from its arguments) says why; anything else answers as unknown.
      if (decision.code === 'ERR_POLICY_ARGUMENTS' && visible(core.policy, principal, kind, server, name)) {
        return deny(
          'deny',
          decision.rule,
          new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Invalid arguments for tool ${name}: ${decision.reason}`,
          ),
        );
      }
      return deny('deny', decision.rule, notFound(kind, name));
    }
    return { server, original, rule: decision.rule, started };
  };

  /** A 2025-era caller's way back: notifications and requests related to its request's stream. */
  const legacyRelay = (talk: {
    notify: (n: Notification) => Promise<void>;
    send: (r: ChildRequest, signal: AbortSignal) => Promise<Params>;
  }): Relay => ({
    agent: principal.agent,
    session: fc.session,
    notify: async (n) => {
      if (n.method === 'notifications/message' && !levelAllows(fc.endpoint?.logLevel, n.params?.level))
        return;
      await talk.notify(n);
    },
    request: (r, signal) => {
      const refused = refuseUndeclared(r, server.getClientCapabilities(), undefined);
      return refused === undefined ? talk.send(r, signal) : Promise.reject(refused);
    },
  });
  const relayOf = (ctx: ServerContext): Relay =>
    legacyRelay({
      notify: (n) => ctx.mcpReq.notify(n),
      send: async (r, signal) => await ctx.mcpReq.send(asRequest(r), { signal }),
    });
  /** A routed call's tie to the request it serves: modern requests keep their whole context (flows). */
  type CallTie = { signal: AbortSignal; relay: Relay } | { signal: AbortSignal; modern: ServerContext };
  const tieOf = (ctx: ServerContext): CallTie =>
    fc.era === 'modern'
      ? { signal: ctx.mcpReq.signal, modern: ctx }
      : { signal: ctx.mcpReq.signal, relay: relayOf(ctx) };

  /** Sends one routed request to its child and records the call event. */
  const forward = async (
    kind: Kind,
    method: string,
    name: string,
    params: Params,
    tie: CallTie,
    args?: Params,
  ): Promise<Params> => {
    const route = resolve(kind, method, name, args);
    const upstreamParams: Params = { ...params };
    if (method === 'completion/complete') {
      if (kind === 'prompt') upstreamParams.ref = { ...(params.ref as Params), name: route.original };
    } else if (kind === 'tool' || kind === 'prompt') {
      upstreamParams.name = route.original;
    }
    const meta = (params._meta ?? undefined) as Params | undefined;
    const progressToken = meta?.progressToken as string | number | undefined;
    if (meta !== undefined) {
      const { progressToken: _drop, ...rest } = meta;
      if (Object.keys(rest).length > 0) upstreamParams._meta = rest;
      else delete upstreamParams._meta;
    }
    const event = (outcome: CallEvent['outcome']): void =>
      core.emit({
        agent: principal.agent,
        method,
        name,
        server: route.server,
        decision: 'allow',
        rule: route.rule,
        durationMs: performance.now() - route.started,
        outcome,
      });
    try {
      const result =
        'modern' in tie && method !== 'completion/complete'
          ? await callViaFlow(fc, route.server, method, name, upstreamParams, tie.modern, progressToken)
          : await core.callChild({
              principal,
              era: fc.era,
              server: route.server,
              method,
              params: upstreamParams,
              relay: 'relay' in tie ? tie.relay : relayOf(tie.modern),
              signal: tie.signal,
              // A 2025-era session hears every level until it sets one.
              logLevel: fc.endpoint?.logLevel ?? 'debug',
              clientCapabilities: server.getClientCapabilities(),
              ...(progressToken === undefined ? {} : { progressToken }),
            });
      if ((result as { resultType?: unknown }).resultType !== 'input_required')
        event(result.isError === true ? 'tool_error' : 'ok');
      return result;
    } catch (error) {
      event(
        tie.signal.aborted ? 'error' : ((error as { outcome?: CallEvent['outcome'] }).outcome ?? 'error'),
      );
      throw error;
    }
  };

  server.setRequestHandler('tools/call', async (req, ctx) => {
    if (ctx.mcpReq.envelope !== undefined) fc.onEnvelope?.(ctx.mcpReq.envelope);
    const params = req.params as unknown as Params;
    return (await forward(
      'tool',
      'tools/call',
      req.params.name,
      params,
      tieOf(ctx),
      req.params.arguments,
    )) as never;
  });
  server.setRequestHandler('prompts/get', async (req, ctx) => {
    const params = req.params as unknown as Params;
    return (await forward(
      'prompt',
      'prompts/get',
      req.params.name,
      params,
      tieOf(ctx),
      req.params.arguments,
    )) as never;
  });
  server.setRequestHandler('resources/read', async (req, ctx) => {
    return (await forward('resource', 'resources/read', req.params.uri, req.params, tieOf(ctx))) as never;
  });
  server.setRequestHandler('completion/complete', async (req, ctx) => {
    const ref = req.params.ref;
    const params = { ...(req.params as unknown as Params) };
    if (ref.type === 'ref/prompt')
      return (await forward('prompt', 'completion/complete', ref.name, params, tieOf(ctx))) as never;
    return (await forward('resource', 'completion/complete', ref.uri, params, tieOf(ctx))) as never;
  });

  server.setRequestHandler('resources/subscribe', async (req) => {
    const uri = req.params.uri;
    const route = routeResource(core.tables(fc.era), uri);
    if (
      !route ||
      !visible(core.policy, principal, 'resource', route.server, uri) ||
      fc.endpoint === undefined
    ) {
      throw notFound('resource', uri);
    }
    if (!core.canSubscribe(fc.era, route.server)) {
      throw new ProtocolError(
        ProtocolErrorCode.MethodNotFound,
        `Server ${route.server} does not support resource subscriptions`,
        { server: route.server, uri },
      );
    }
    await core.subscribe(fc.endpoint, route.server, uri);
    return {};
  });
  server.setRequestHandler('resources/unsubscribe', (req) => {
    if (fc.endpoint !== undefined) core.unsubscribe(fc.endpoint, req.params.uri);
    return {};
  });
  server.setNotificationHandler('notifications/roots/list_changed', () =>
    core.rootsChanged(principal.agent, fc.era),
  );
  server.setRequestHandler('logging/setLevel', (req) => {
    if (fc.endpoint !== undefined) fc.endpoint.logLevel = req.params.level;
    core.setLogLevel(principal.agent, req.params.level);
    return {};
  });

  const callTool: FrontServer['callTool'] = (id, params, signal) => {
    const relay = legacyRelay({
      notify: (n) => server.notification(n, { relatedRequestId: id }),
      send: async (r, signal) => await server.request(asRequest(r), { signal, relatedRequestId: id }),
    });
    return forward(
      'tool',
      'tools/call',
      params.name as string,
      params,
      { signal, relay },
      params.arguments as Params,
    );
  };
  return { server, callTool };
}
