// 2026-07-28 serving: no sessions, every request carries its own `_meta` envelope. One SDK
// createMcpHandler per agent (so `subscriptions/listen` streams and their change bus are per agent)
// whose factory builds a fresh front Server per request. The SDK checks Mcp-Method/Mcp-Name against
// the body and answers server/discover; lists carry cacheScope 'private'.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { createMcpHandler, type AuthInfo, type McpHttpHandler } from '@modelcontextprotocol/server';
import { noteLaneTaken } from '../../lib/lanes.ts';
import type { Logger } from '../../lib/log.ts';
import { jsonRpcErrorResponse } from '../edge/jsonrpc.ts';
import { routeResource } from './catalog.ts';
import type { Core, Endpoint } from './core.ts';
import type { FlowStore } from './flows.ts';
import type { RequestStateSealer } from './request-state.ts';
import { buildFrontServer, type FrontServer } from './front-server.ts';
import type { HeaderSource } from '../../lib/mcp-direct-post.ts';
import { plainModernCall, runModernCall, serveModern, type ModernAnswer } from './modern-direct.ts';
import { checkParamHeaders, paramHeaders } from './param-headers.ts';
import type { EraServing } from './serving.ts';
import { visible } from './policy.ts';
import type { Principal } from './types.ts';
import { rpcCodes } from '../../lib/wire-errors.ts';

interface AgentHandler {
  handler: McpHttpHandler;
  endpoint: Endpoint;
  unregister: () => void;
  listens: Map<string, number>;
  /** `_meta` envelopes the SDK accepted for this agent's calls: the direct lane takes only these. */
  envelopes: Record<string, unknown>[];
  /** The direct lane's front Server, for the principal it was built for. */
  lane?: { principal: Principal; front: FrontServer };
}

/** How many distinct accepted envelopes an agent keeps (a client sends one, or a few). */
const envelopeMemo = 4;

export function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined;
  if (principal === undefined)
    throw new Error('gateway: request reached the MCP handler without a principal');
  return principal;
}

export function createModernServing(options: {
  core: Core;
  flows: FlowStore;
  states: RequestStateSealer;
  pageSize: number;
  maxRequestBodySize: number;
  logger: Logger;
}) {
  const { core } = options;
  const agents = new Map<string, AgentHandler>();

  const handlerFor = (principal: Principal): AgentHandler => {
    const held = agents.get(principal.agent);
    if (held) {
      held.endpoint.principal = principal;
      return held;
    }
    const envelopes: Record<string, unknown>[] = [];
    const remember = (envelope: Record<string, unknown>): void => {
      if (envelopes.some((known) => isDeepStrictEqual(known, envelope))) return;
      if (envelopes.length >= envelopeMemo) envelopes.shift();
      envelopes.push(envelope);
    };
    const handler = createMcpHandler(
      (ctx) =>
        buildFrontServer({
          core,
          principal: principalOf(ctx.authInfo),
          era: 'modern',
          session: randomUUID(),
          flows: options.flows,
          states: options.states,
          pageSize: options.pageSize,
          onEnvelope: remember,
        }).server,
      {
        legacy: 'reject',
        maxRequestBodySize: options.maxRequestBodySize,
        onerror: (error) =>
          options.logger.debug({ agent: principal.agent, err: error.message }, 'modern request rejected'),
      },
    );
    const endpoint: Endpoint = {
      agent: principal.agent,
      era: 'modern',
      session: `modern:${principal.agent}`,
      principal,
      toolsChanged: () => handler.notify.toolsChanged(),
      promptsChanged: () => handler.notify.promptsChanged(),
      resourcesChanged: () => handler.notify.resourcesChanged(),
      resourceUpdated: (uri) => handler.notify.resourceUpdated(uri),
    };
    const created: AgentHandler = {
      handler,
      endpoint,
      unregister: core.register(endpoint),
      listens: new Map(),
      envelopes,
    };
    agents.set(principal.agent, created);
    return created;
  };

  /** `subscriptions/listen` asks for resource URIs: subscribe upstream while the stream is open. */
  const trackListen = async (
    agent: AgentHandler,
    principal: Principal,
    body: unknown,
  ): Promise<(() => void) | undefined> => {
    const params =
      (body as {
        method?: unknown;
        params?: { notifications?: { resourceSubscriptions?: unknown } };
      } | null) ?? {};
    if (params.method !== 'subscriptions/listen') return undefined;
    const uris = params.params?.notifications?.resourceSubscriptions;
    if (!Array.isArray(uris)) return undefined;
    const held: string[] = [];
    for (const uri of uris) {
      if (typeof uri !== 'string') continue;
      const route = routeResource(core.tables(), uri);
      if (!route || !visible(core.policy, principal, 'resource', route.server, uri)) continue;
      const count = agent.listens.get(uri) ?? 0;
      agent.listens.set(uri, count + 1);
      held.push(uri);
      if (count > 0) continue;
      // Only where the child takes subscriptions; a child that refuses one is reported, never hidden.
      if (!core.canSubscribe('modern', route.server)) {
        options.logger.warn(
          { agent: principal.agent, server: route.server, uri },
          'resource subscription asked of a server that does not support subscriptions',
        );
        continue;
      }
      await core.subscribe(agent.endpoint, route.server, uri).catch((error: unknown) =>
        options.logger.warn(
          {
            agent: principal.agent,
            server: route.server,
            uri,
            err: error instanceof Error ? error.message : String(error),
          },
          'upstream resource subscription failed',
        ),
      );
    }
    return () => {
      for (const uri of held) {
        const count = (agent.listens.get(uri) ?? 1) - 1;
        if (count > 0) agent.listens.set(uri, count);
        else {
          agent.listens.delete(uri);
          core.unsubscribe(agent.endpoint, uri);
        }
      }
    };
  };

  /**
   * A tools/call whose `Mcp-Param-*` headers disagree with its arguments, for a tool this agent can see
   * (a hidden tool answers as unknown, whatever its headers). Checked after the SDK's own checks of the
   * standard headers would pass, so their errors keep precedence: a request naming another method or
   * tool in its headers is left to the SDK.
   */
  const paramHeaderRejection = (
    request: Request,
    principal: Principal,
    body: unknown,
  ): Response | undefined => {
    const call = body as { id?: unknown; method?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (call === null || typeof call !== 'object' || call.method !== 'tools/call') return undefined;
    const name = call.params?.name;
    if (typeof name !== 'string' || request.headers.get('mcp-method') !== 'tools/call') return undefined;
    if (request.headers.get('mcp-name') !== name) return undefined;
    const entry = core.tables().tool.get(name);
    if (entry === undefined || !visible(core.policy, principal, 'tool', entry.server, name)) return undefined;
    const mismatch = checkParamHeaders(
      paramHeaders(entry.item.inputSchema),
      call.params?.arguments,
      request.headers,
    );
    if (mismatch === undefined) return undefined;
    options.logger.debug(
      { agent: principal.agent, tool: name, header: mismatch.header },
      'modern request rejected',
    );
    const id = typeof call.id === 'string' || typeof call.id === 'number' ? call.id : null;
    return jsonRpcErrorResponse(
      400,
      rpcCodes.headerMismatch,
      `Bad Request: the request headers and body disagree: ${mismatch.message}`,
      {
        id,
        data: { mismatch: { header: mismatch.header, body: mismatch.message } },
      },
    );
  };

  const handle: EraServing['handle'] = async (request, principal, parsedBody, authInfo) => {
    const rejected = paramHeaderRejection(request, principal, parsedBody);
    if (rejected !== undefined) return rejected;
    const agent = handlerFor(principal);
    // The agent is busy while its request is handled; an open listen stream holds it for as long.
    const busy = core.hold(principal.agent);
    let unlisten: (() => void) | undefined;
    let response: Response;
    try {
      unlisten = await trackListen(agent, principal, parsedBody);
      response = await agent.handler.fetch(request, {
        authInfo,
        ...(parsedBody === undefined ? {} : { parsedBody }),
      });
    } catch (error) {
      unlisten?.();
      busy();
      throw error;
    }
    if (unlisten === undefined || response.body === null) {
      unlisten?.();
      busy();
      return response;
    }
    const stopListening = unlisten;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      stopListening();
      busy();
    };
    const body = response.body.pipeThrough(new TransformStream({ flush: release }));
    // A client gone before the answer was ready: its abort has fired already and will not fire again.
    if (request.signal.aborted) release();
    else request.signal.addEventListener('abort', release, { once: true });
    return new Response(body, response);
  };

  /**
   * Takes a plain tools/call (modern-direct.ts) of an agent whose envelope the SDK has accepted before;
   * false when it must go through `handle` (nothing has happened then). `message` passed the edge's checks.
   */
  const directCall = (
    principal: Principal,
    message: unknown,
    req: HeaderSource,
    answer: ModernAnswer,
  ): boolean => {
    const agent = agents.get(principal.agent);
    if (agent === undefined) return false;
    const call = plainModernCall(message, req);
    if (call === undefined || !agent.envelopes.some((known) => isDeepStrictEqual(known, call.envelope)))
      return false;
    // A tool declaring `x-mcp-header` arguments has its headers checked on the SDK's path.
    const entry = core.tables().tool.get(call.name);
    if (entry === undefined || paramHeaders(entry.item.inputSchema).length > 0) return false;
    agent.endpoint.principal = principal;
    if (agent.lane?.principal !== principal) {
      const front = buildFrontServer({
        core,
        principal,
        era: 'modern',
        session: randomUUID(),
        flows: options.flows,
        states: options.states,
        pageSize: options.pageSize,
      });
      serveModern(front.server);
      agent.lane = { principal, front };
    }
    const busy = core.hold(principal.agent);
    noteLaneTaken('modern-call');
    runModernCall(agent.lane.front.server, call, answer)
      .catch((error: unknown) =>
        options.logger.error({ agent: principal.agent, err: error }, 'modern direct call failed'),
      )
      .finally(busy);
    return true;
  };

  // An agent gone idle (so with no listen stream open) is let go with its handler.
  core.onAgentIdle((name) => {
    const agent = agents.get(name);
    if (agent === undefined || agent.listens.size > 0) return;
    agents.delete(name);
    agent.unregister();
    void agent.handler.close().catch(() => undefined);
  });

  return {
    handle,
    directCall,
    async close(): Promise<void> {
      for (const agent of agents.values()) {
        agent.unregister();
        await agent.handler.close().catch(() => undefined);
      }
      agents.clear();
    },
  };
}
