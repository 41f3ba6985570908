// 2025-era serving (2025-06-18, 2025-11-25): sessions with Mcp-Session-Id, a GET stream, DELETE.
// Each session has its own front Server and is bound to the agent that opened it: a request with
// another agent's token on that session answers 404, exactly like an unknown session, so session
// ids cannot be probed across agents.
import { randomUUID } from 'node:crypto';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import type { Core, Endpoint } from './core.ts';
import { wireError } from './errors.ts';
import type { FlowStore } from './flows.ts';
import type { RequestStateSealer } from './request-state.ts';
import { directToolsCall } from './direct-call.ts';
import { buildFrontServer, type FrontServer } from './front-server.ts';
import type { EraServing } from './serving.ts';
import { JsonFirstSessionTransport } from './session-transport.ts';
import type { DirectSink, HeaderSource } from '../../lib/mcp-direct-post.ts';
import type { Principal } from './types.ts';

interface Session {
  id: string;
  agent: string;
  transport: JsonFirstSessionTransport;
  front: FrontServer;
  endpoint: Endpoint;
  unregister: () => void;
  /** Ends the session's hold on its agent (proxy/gateway/agent-idle.ts). */
  release: () => void;
  lastSeen: number;
}

export function createLegacySessions(options: {
  core: Core;
  flows: FlowStore;
  states: RequestStateSealer;
  pageSize: number;
  idleMs: number;
  /** Off: every request takes the SDK's path (MCPCP_DIRECT_LANES=off). */
  directLanes: boolean;
}) {
  const { core } = options;
  const sessions = new Map<string, Session>();

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - options.idleMs;
      for (const s of sessions.values()) if (s.lastSeen < cutoff) void s.transport.close();
    },
    Math.min(60_000, options.idleMs),
  );
  sweeper.unref();

  const remove = (id: string): void => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    s.unregister();
    s.release();
  };

  const open: EraServing['handle'] = async (request, principal, parsedBody, authInfo) => {
    const endpoint: Endpoint = {
      agent: principal.agent,
      era: 'legacy',
      session: '',
      principal,
      toolsChanged: () => void server.sendToolListChanged().catch(() => undefined),
      promptsChanged: () => void server.sendPromptListChanged().catch(() => undefined),
      resourcesChanged: () => void server.sendResourceListChanged().catch(() => undefined),
      resourceUpdated: (uri) => void server.sendResourceUpdated({ uri }).catch(() => undefined),
      notify: (method, params) => void server.notification({ method, params }).catch(() => undefined),
      listRoots: (signal) =>
        server.getClientCapabilities()?.roots === undefined
          ? undefined
          : server.listRoots(undefined, { signal }),
    };
    const transport: JsonFirstSessionTransport = new JsonFirstSessionTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        endpoint.session = id;
        sessions.set(id, {
          id,
          agent: principal.agent,
          transport,
          front,
          endpoint,
          unregister: core.register(endpoint),
          release: core.hold(principal.agent),
          lastSeen: Date.now(),
        });
      },
      onsessionclosed: (id) => remove(id),
    });
    const front = buildFrontServer({
      core,
      principal,
      era: 'legacy',
      session: randomUUID(),
      endpoint,
      flows: options.flows,
      states: options.states,
      pageSize: options.pageSize,
    });
    const server = front.server;
    transport.onclose = () => {
      if (transport.sessionId !== undefined) remove(transport.sessionId);
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody, authInfo });
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId))
      await server.close().catch(() => undefined);
    return response;
  };

  const handle: EraServing['handle'] = async (request, principal, parsedBody, authInfo) => {
    const sid = request.headers.get('mcp-session-id');
    if (sid !== null) {
      const session = sessions.get(sid);
      if (!session || session.agent !== principal.agent) return wireError(404, -32001, 'Session not found');
      session.lastSeen = Date.now();
      session.endpoint.principal = principal;
      if (request.method === 'POST' && options.directLanes) {
        const direct = directToolsCall(session.front, session.transport, parsedBody, (id, dispatch) =>
          session.transport.directPost(request, id, dispatch),
        );
        if (direct !== undefined) return direct;
      }
      return session.transport.handleRequest(request, { parsedBody, authInfo });
    }
    if (request.method === 'POST' && isInitializeRequest(parsedBody))
      return open(request, principal, parsedBody, authInfo);
    return wireError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
  };

  /**
   * A plain tools/call POSTed on `agent`'s live session `sid`, for the node:http lane
   * (proxy/edge/node-lane.ts): taken (true, its answer goes to `sink`) or not (false: nothing happened,
   * the request goes through `handle` like any other).
   */
  const directCall = (
    sid: string,
    principal: Principal,
    message: unknown,
    headers: HeaderSource,
    sink: DirectSink,
  ): boolean => {
    const session = sessions.get(sid);
    if (session === undefined || session.agent !== principal.agent) return false;
    session.lastSeen = Date.now();
    session.endpoint.principal = principal;
    const taken = directToolsCall(session.front, session.transport, message, (id, dispatch) =>
      session.transport.directPostTo(headers, id, dispatch, sink) ? true : undefined,
    );
    return taken !== undefined;
  };

  return {
    handle,
    directCall,
    /** A live session of this agent (another agent's session id is treated like an unknown one). */
    has: (id: string, agent: string) => sessions.get(id)?.agent === agent,
    count: () => sessions.size,
    async close(): Promise<void> {
      clearInterval(sweeper);
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
      sessions.clear();
    },
  };
}
