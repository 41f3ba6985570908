// Streamable HTTP front of a first-party server on loopback (Hono on @hono/node-server), serving both protocol eras
// at /mcp: 2026-07-28 requests through the SDK's per-request handler (subscriptions/listen), 2025-era requests
// through sessionful transports (Mcp-Session-Id, GET stream, resources/subscribe). Every request is authenticated;
// a legacy session stays bound to the agent that opened it, and a modern listen stream to the agent that opened it
// (resource updates reach it only when the server's mayHear allows). It must not know what the server's tools do.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  WebStandardStreamableHTTPServerTransport,
  createMcpHandler,
  isJsonContentType,
  readRequestBody,
  isInitializeRequest,
  isLegacyRequest,
  type McpServer,
} from '@modelcontextprotocol/server';
import { localhostHostValidation, localhostOriginValidation } from '@modelcontextprotocol/hono';
import { Hono } from 'hono';
import { isMcpcpError } from '../../lib/errors.ts';
import { noteLaneTaken } from '../../lib/lanes.ts';
import { directPost, plainRequest } from '../../lib/mcp-direct-post.ts';
import type { Logger } from '../../lib/log.ts';
import type { Authenticate, Caller } from './caller.ts';
import { createCallerEventBus, type MayHear } from './listen-bus.ts';

export type ServerFactory = (caller: Caller) => McpServer;

/** "Resource changed" events for 2026-era subscriptions/listen streams, and who may hear them. */
export interface ResourceUpdates {
  /** Registers the sink for change events; returns the unregister function. */
  subscribe(emit: (uri: string) => void): () => void;
  /** The server's read-access decision for uri, asked at every delivery (access changes while a stream is open). */
  mayHear: MayHear;
}

export interface KitHttpOptions {
  factory: ServerFactory;
  authenticate: Authenticate;
  host?: string;
  port?: number;
  logger: Logger;
  /** Change events forwarded to modern subscriptions/listen streams whose caller may hear them. */
  resourceUpdates?: ResourceUpdates;
  maxRequestBodySize?: number;
  /** A 2025-era session idle this long is closed (default 30 minutes). */
  sessionIdleMs?: number;
  /** The direct POST past the SDK's dispatch (lib/mcp-direct-post.ts); default on (MCPCP_DIRECT_LANES). */
  directLanes?: boolean;
}

export interface KitHttpServer {
  url: string;
  close(): Promise<void>;
}

function rpcError(status: number, code: number, message: string, headers?: Record<string, string>): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status, headers });
}

// The caller the auth step resolved for a request, read back by the per-request server factory.
const callers = new WeakMap<Request, Caller>();

export async function startKitHttp(options: KitHttpOptions): Promise<KitHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const sessions = new Map<
    string,
    {
      transport: WebStandardStreamableHTTPServerTransport;
      server: McpServer;
      agent: string;
      lastSeen: number;
    }
  >();
  // Clients that vanish without DELETE leave sessions behind: close the idle ones.
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const [id, session] of sessions) {
        if (session.lastSeen < cutoff) {
          sessions.delete(id);
          void session.transport.close().catch(() => undefined);
        }
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();
  const onerror = (error: Error): void => log.warn({ err: error }, 'mcp transport error');
  const updates =
    options.resourceUpdates === undefined
      ? undefined
      : createCallerEventBus({
          mayHear: options.resourceUpdates.mayHear,
          onerror: (error) => log.warn({ err: error }, 'resource update not delivered'),
        });
  const maxRequestBodySize = options.maxRequestBodySize ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  // The per-request factory reads the caller the auth step attached to the request.
  const modern = createMcpHandler(
    (ctx) => {
      const caller = ctx.requestInfo === undefined ? undefined : callers.get(ctx.requestInfo);
      if (caller === undefined) throw new Error('unauthenticated request reached the server factory');
      return options.factory(caller);
    },
    {
      legacy: 'reject',
      onerror,
      ...(updates ? { bus: updates.bus } : {}),
      ...(options.maxRequestBodySize ? { maxRequestBodySize: options.maxRequestBodySize } : {}),
    },
  );
  const stopUpdates = options.resourceUpdates?.subscribe((uri) => modern.notify.resourceUpdated(uri));

  /** A POST on a live session: a plain request straight to the session's server (lib/mcp-direct-post.ts). */
  async function postOnSession(
    session: { transport: WebStandardStreamableHTTPServerTransport; server: McpServer },
    request: Request,
  ): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type')))
      return session.transport.handleRequest(request);
    const body = await readRequestBody(request, maxRequestBodySize);
    if (body.tooLarge)
      return rpcError(
        413,
        -32000,
        `Payload Too Large: Request body must not exceed ${maxRequestBodySize} bytes`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return rpcError(400, -32700, 'Parse error: Invalid JSON');
    }
    const plain = plainRequest(parsed);
    const protocol = session.server.server as unknown as {
      _onrequest(message: unknown, extra: { request: Request }): void;
    };
    const direct =
      plain === undefined || options.directLanes === false
        ? undefined
        : directPost(session.transport, request, plain.id, () => {
            noteLaneTaken('kit-post');
            protocol._onrequest(plain, { request });
          });
    return direct ?? session.transport.handleRequest(request, { parsedBody: parsed });
  }

  async function openLegacySession(request: Request, caller: Caller): Promise<Response> {
    let body: unknown;
    try {
      body = await request.clone().json();
    } catch {
      body = undefined;
    }
    if (!isInitializeRequest(body)) return rpcError(400, -32000, 'Bad Request: no valid session');
    const server = options.factory(caller);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Answers are single JSON bodies (cheaper than an SSE stream per call); notifications use the GET stream.
      enableJsonResponse: true,
      maxRequestBodySize,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, agent: caller.agent, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody: body });
  }

  async function handleMcp(request: Request): Promise<Response> {
    let caller: Caller;
    try {
      caller = await options.authenticate(request);
    } catch (error) {
      if (isMcpcpError(error) && error.code.startsWith('ERR_TOKEN')) {
        log.info({ code: error.code }, 'rejected request');
        return rpcError(401, -32001, 'Unauthorized', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      }
      throw error;
    }
    // A request naming a live session is 2025-era (2026-era requests have none): no classifier needed.
    const named = request.headers.get('mcp-session-id');
    if ((named !== null && sessions.has(named)) || (await isLegacyRequest(request))) {
      if (named === null) {
        if (request.method !== 'POST')
          return rpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
        return openLegacySession(request, caller);
      }
      const session = sessions.get(named);
      if (session === undefined) return rpcError(404, -32001, 'Session not found');
      if (session.agent !== caller.agent) return rpcError(403, -32001, 'Session belongs to another agent');
      session.lastSeen = Date.now();
      if (request.method !== 'POST') return session.transport.handleRequest(request);
      return postOnSession(session, request);
    }
    callers.set(request, caller);
    return updates === undefined
      ? modern.fetch(request)
      : updates.serveAs(caller, () => modern.fetch(request));
  }

  // Loopback only: Host and Origin are checked against DNS rebinding before anything else.
  const app = new Hono();
  app.use('*', localhostHostValidation(), localhostOriginValidation());
  app.all('/mcp', async (c) => {
    try {
      return await handleMcp(c.req.raw);
    } catch (error) {
      log.error({ err: error }, 'request failed');
      return rpcError(500, -32603, 'Internal error');
    }
  });

  const httpServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () =>
      resolve(started),
    );
  });
  // Idle keep-alive sockets outlive the clients' own idle timeout (undici: 4 s), so a client never sends a request
  // on a socket this server is closing at that instant ("closed the connection before answering").
  if ('keepAliveTimeout' in httpServer) {
    httpServer.keepAliveTimeout = 65_000;
    httpServer.headersTimeout = 66_000;
  }
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`,
    async close() {
      clearInterval(sweeper);
      stopUpdates?.();
      await Promise.allSettled([...sessions.values()].map(({ transport }) => transport.close()));
      sessions.clear();
      await modern.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        if ('closeAllConnections' in httpServer) httpServer.closeAllConnections();
      });
    },
  };
}
