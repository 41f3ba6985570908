// 2025-era serving (2025-06-18, 2025-11-25): sessions with Mcp-Session-Id, a GET stream, DELETE.
// Each session has its own front Server and is bound to the agent that opened it: a request with
// another agent's token on that session answers 404, exactly like an unknown session, so session
// ids cannot be probed across agents.
import { randomUUID } from 'node:crypto';
import { isInitializeRequest, type AuthInfo } from '@modelcontextprotocol/server';
import type { Core, Endpoint } from './core.ts';
import { rpcCodes } from '../../lib/wire-errors.ts';
import { wireError } from './errors.ts';
import type { FlowStore } from './flows.ts';
import type { RequestStateSealer } from './request-state.ts';
import { directToolsCall } from './direct-call.ts';
import { buildFrontServer, type FrontServer } from './front-server.ts';
import { createSessionRestorer } from './legacy-restore.ts';
import type { EraServing } from './serving.ts';
import type { SessionSeal } from './session-seal.ts';
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
  /**
   * Seals session ids so any replica can rebuild the session (session-seal.ts, legacy-restore.ts); only when the
   * proxy runs as replicas. Without it ids are random and a session lives and ends on this process alone.
   */
  seal?: SessionSeal;
  /** Off: every request takes the SDK's path (MCPCP_DIRECT_LANES=off). */
  directLanes: boolean;
}) {
  const { core } = options;
  const seal = options.seal;
  // Ids a client ended with DELETE: never rebuilt here (another replica cannot know; see legacy-restore.ts).
  const ended = new Set<string>();
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

  const open = async (
    request: Request,
    principal: Principal,
    parsedBody: unknown,
    authInfo: AuthInfo | undefined,
    sessionId?: string,
  ): Promise<Response> => {
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
      // A rebuilt session keeps its id; a new one gets a sealed id carrying what a rebuild needs.
      sessionIdGenerator: () =>
        sessionId ??
        seal?.seal({
          agent: principal.agent,
          init: (parsedBody as { params?: Record<string, unknown> }).params ?? {},
          iat: Date.now(),
        }) ??
        randomUUID(),
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
      onsessionclosed: (id) => {
        if (seal !== undefined) {
          if (ended.size >= 100_000) ended.delete(ended.values().next().value!);
          ended.add(id);
        }
        remove(id);
      },
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

  const restorer =
    seal === undefined
      ? undefined
      : createSessionRestorer({
          seal,
          open,
          post: (sid, request, parsedBody) =>
            sessions.get(sid)?.transport.handleRequest(request, { parsedBody }) ??
            Promise.resolve(wireError(404, -32001, 'Session not found')),
          has: (sid, agent) => sessions.get(sid)?.agent === agent,
        });

  const handle: EraServing['handle'] = async (request, principal, parsedBody, authInfo) => {
    const sid = request.headers.get('mcp-session-id');
    if (sid !== null) {
      // A session opened by another replica (or before a restart) is rebuilt here from its sealed id.
      if (restorer !== undefined && !sessions.has(sid) && !ended.has(sid))
        await restorer.restore(sid, principal, request, authInfo);
      const session = sessions.get(sid);
      if (!session || session.agent !== principal.agent)
        return wireError(404, rpcCodes.sessionNotFound, 'Session not found');
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
    return wireError(400, rpcCodes.serverError, 'Bad Request: Mcp-Session-Id header is required');
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
