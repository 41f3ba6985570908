// The node:http lane for the request nearly all traffic is: a plain tools/call POSTed on an agent's own
// live 2025-era session, taken on node:http's own request and response. Measured with bench/proxy.ts, the
// Web layer around such a call (the Request and Headers objects, Hono's routing and context, the Response
// and its conversion back to node:http) was about a third of the proxy's CPU per call; here the app's own
// edge checks (edge-checks.ts, the one function both use) run on the raw headers, the call goes to the
// gateway's direct path, and its JSON answer is written straight to the socket (an answer upgraded to SSE mid-call streams as the app would stream it).
// The lane only ever takes the plain, valid case. Everything else, and every irregular case of this one
// (another path or method, a browser Origin, a Host the app refuses, no declared length, a missing, bad
// or expired token, a missing scope, a body that is not one JSON-RPC tools/call request, a rate limit, an
// unknown or foreign session, anything the SDK's path must judge) goes to the Hono app unchanged, rebuilt
// as the Request it would have been, so every refusal and every error stays the app's.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType, validateHostHeader } from '@modelcontextprotocol/server';
import { noteLaneTaken } from '../../lib/lanes.ts';
import type { DirectSink, HeaderSource } from '../../lib/mcp-direct-post.ts';
import type { Logger } from '../../lib/log.ts';
import type { TokenVerifierLike } from '../app.ts';
import type { Gateway, ModernAnswer, Principal } from '../gateway/index.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { extractBearerToken } from './bearer.ts';
import { toWireError } from '../../lib/wire-errors.ts';
import { checkEdge, type StepUp } from './edge-checks.ts';
import { jsonRpcErrorBody } from './jsonrpc.ts';
import { modernRevision } from '../gateway/modern-direct.ts';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface NodeLaneOptions {
  /** Host names the app answers /mcp on (its DNS-rebinding guard's list). */
  hosts: readonly string[];
  maxBodyBytes: number;
  verifier: TokenVerifierLike;
  requiredScopes: readonly string[];
  /** OAuth step-up (proxy/oauth/scopes.ts): a call it names scopes for goes to the app, which answers 403. */
  stepUp?: StepUp | undefined;
  rateLimiter?: RateLimiter<Principal> | undefined;
  /** Requests whose rate-limit token the lane has already taken (the app must not take another). */
  charged: WeakSet<Request>;
  gateway: Pick<Gateway, 'directCall' | 'directModernCall'>;
  metrics: Pick<ProxyMetrics, 'recordHttp'>;
  /** The Hono app, for a request the lane has read but does not take. */
  app: (request: Request) => Response | Promise<Response>;
  logger: Logger;
}

function headerSource(headers: IncomingHttpHeaders): HeaderSource {
  return {
    headers: {
      get: (name) => {
        const value = headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Writes a Response to node:http: whole with its length, or event by event for an SSE stream. */
async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  if (response.body === null) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (!(headers['content-type'] ?? '').includes('text/event-stream')) {
    const body = Buffer.from(await response.arrayBuffer());
    headers['content-length'] = String(body.length);
    res.writeHead(response.status, headers).end(body);
    return;
  }
  res.writeHead(response.status, headers);
  res.flushHeaders();
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  res.once('close', () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read();
    if (done || res.destroyed) break;
    res.write(value);
  }
  res.end();
}

/**
 * The request as the app would have received it, with the body the lane has read, and a signal that aborts when the
 * client goes away before its answer is done (as @hono/node-server's own requests do): a listen stream's holder
 * lets go on it.
 */
function rebuild(req: IncomingMessage, res: ServerResponse, body: Buffer): Request {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new Error('the client went away'));
  });
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'POST',
    headers,
    body,
    signal: gone.signal,
  });
}

/** A sessionless request naming 2026-07-28 and tools/call in its headers (the modern lane's candidate). */
function modernCall(h: IncomingHttpHeaders): boolean {
  return h['mcp-protocol-version'] === modernRevision && h['mcp-method'] === 'tools/call';
}

/** Wraps the app's node:http listener (`fallback`) with the lane. */
export function createNodeLane(options: NodeLaneOptions, fallback: NodeListener): NodeListener {
  const { verifier, requiredScopes, rateLimiter, gateway, metrics, app, charged } = options;
  const log = options.logger.child({ component: 'edge' });
  const knownHosts = new Map<string, boolean>();
  const hostAllowed = (host: string | undefined): boolean => {
    if (host === undefined) return false;
    let ok = knownHosts.get(host);
    if (ok === undefined) {
      ok = validateHostHeader(host, [...options.hosts]).ok;
      if (knownHosts.size >= 64) knownHosts.clear();
      knownHosts.set(host, ok);
    }
    return ok;
  };

  /** Hands a read request to the app and writes its answer. */
  const toApp = async (req: IncomingMessage, res: ServerResponse, body: Buffer, paid: boolean) => {
    const request = rebuild(req, res, body);
    if (paid) charged.add(request);
    await writeResponse(res, await app(request));
  };

  /** A 2026-07-28 answer written to node:http: one JSON body, or an SSE stream as the SDK streams it. */
  const modernAnswer = (res: ServerResponse): ModernAnswer => {
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort(new Error('the client went away'));
    });
    return {
      signal: gone.signal,
      json: (status, body) => {
        if (res.destroyed) return;
        res
          .writeHead(status, {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          })
          .end(body);
        metrics.recordHttp('/mcp', 'POST', status);
      },
      sse: () => {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        res.flushHeaders();
        metrics.recordHttp('/mcp', 'POST', 200);
        return {
          write: (frame) => void (res.destroyed || res.write(frame)),
          end: () => void res.end(),
        };
      },
    };
  };

  /** A 2025-era session's answer written to node:http: JSON straight to the socket, or the SDK's Response. */
  const legacySink = (res: ServerResponse, sid: string): DirectSink => ({
    text: (answer) => {
      if (res.destroyed) return;
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'mcp-session-id': sid,
          'content-length': String(Buffer.byteLength(answer)),
        })
        .end(answer);
      metrics.recordHttp('/mcp', 'POST', 200);
    },
    json: (response) => {
      metrics.recordHttp('/mcp', 'POST', response.status);
      writeResponse(res, response).catch((error: unknown) => {
        log.debug({ err: error }, 'answer stream ended early');
        res.destroy();
      });
    },
  });

  const take = async (req: IncomingMessage, res: ServerResponse, sid: string | undefined) => {
    const body = await readBody(req);
    // The app's own checks (proxy/edge/edge-checks.ts): anything they refuse, the app answers.
    const verdict = await checkEdge(
      {
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        readBody: () => Promise.resolve({ tooLarge: false, text: body.toString('utf8') }),
        charged: false,
      },
      { verifier, requiredScopes, rateLimiter, stepUp: options.stepUp },
    );
    if (!verdict.ok) return toApp(req, res, body, false);
    const { principal, message, check } = verdict;
    // Its rate-limit token is taken once checkEdge passed a request: the app must not take another.
    const paid = rateLimiter !== undefined && check?.kind === 'request';
    if (check?.kind !== 'request' || check.method !== 'tools/call') return toApp(req, res, body, paid);
    const taken =
      sid === undefined
        ? gateway.directModernCall(principal, message, headerSource(req.headers), modernAnswer(res))
        : gateway.directCall(sid, principal, message, headerSource(req.headers), legacySink(res, sid));
    if (!taken) return toApp(req, res, body, paid);
    noteLaneTaken('edge-node');
  };

  return (req, res) => {
    const h = req.headers;
    const sid = h['mcp-session-id'];
    const declared = h['content-length'];
    const token = extractBearerToken(h.authorization);
    if (
      req.method !== 'POST' ||
      req.url !== '/mcp' ||
      (typeof sid !== 'string' && !(sid === undefined && modernCall(h))) ||
      token === undefined ||
      h.origin !== undefined ||
      h['transfer-encoding'] !== undefined ||
      declared === undefined ||
      !(Number(declared) <= options.maxBodyBytes) ||
      !isJsonContentType(h['content-type'] ?? null) ||
      !hostAllowed(h.host)
    ) {
      fallback(req, res);
      return;
    }
    take(req, res, sid).catch((error: unknown) => {
      log.error({ err: error }, 'unhandled error at the edge');
      if (res.headersSent) return void res.destroy();
      const wire = toWireError(error);
      res
        .writeHead(wire.status, { 'content-type': 'application/json' })
        .end(jsonRpcErrorBody(null, wire.rpcCode, wire.message));
    });
  };
}
