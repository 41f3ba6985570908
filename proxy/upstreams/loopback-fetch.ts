// A small HTTP client for talking to HTTP children: node:http with a keep-alive agent. `sendLoopback`
// sends one request and hands back the raw answer; `loopbackFetch` wraps that as fetch for the SDK's
// transport (JSON answers read whole into one buffer; SSE answers stream). It skips undici's fetch
// machinery (Request objects, fetch controller, header conversions), which cost the proxy more per call
// than the child's own work. Anything it does not handle (a non-string body, a non-http URL) goes to
// the global fetch, so behaviour stays that of fetch.
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 1000 });
const nullBodyStatus = new Set([101, 103, 204, 205, 304]);

type FetchInput = string | URL | Request;

export interface LoopbackRequest {
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string | undefined;
  /** Aborts the request; several signals abort it when any of them does (no composite signal built). */
  signal?: AbortSignal | readonly AbortSignal[] | undefined;
}

/** A sent request's answer: headers have arrived, the body is still to be read. */
export interface LoopbackAnswer {
  res: IncomingMessage;
  /** Detaches the abort listener once the body has been read or handed on. */
  done: () => void;
}

function plainHeaders(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === undefined) return out;
  if (init instanceof Headers) {
    init.forEach((value, key) => {
      out[key] = value;
    });
  } else if (Array.isArray(init)) {
    for (const [key, value] of init) out[key.toLowerCase()] = value;
  } else {
    for (const [key, value] of Object.entries(init as Record<string, string>)) out[key.toLowerCase()] = value;
  }
  return out;
}

function responseHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

interface Target {
  /** The Host header node:http would send (`u.host`: the port only when it is not the default). */
  host: string;
  hostname: string;
  port: string;
  path: string;
}

/** Parsed request targets: a child's URL is parsed once, not on every call. */
const targets = new Map<string, Target>();

function targetOf(url: string): Target {
  let target = targets.get(url);
  if (target === undefined) {
    const u = new URL(url);
    target = {
      host: u.host,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || '80',
      path: `${u.pathname}${u.search}`,
    };
    if (targets.size > 1000) targets.clear();
    targets.set(url, target);
  }
  return target;
}

/** Sends one request; rejects like fetch does (TypeError 'fetch failed', or the abort reason). */
export function sendLoopback(url: string, o: LoopbackRequest): Promise<LoopbackAnswer> {
  const signals: readonly AbortSignal[] =
    o.signal === undefined ? [] : o.signal instanceof AbortSignal ? [o.signal] : o.signal;
  const aborted = signals.find((s) => s.aborted);
  if (aborted !== undefined) return Promise.reject(abortReason(aborted));
  const target = targetOf(url);
  // Headers as a raw list: node:http then writes them as they are (still validated) instead of building
  // its header object through setHeader one by one; Host is then ours to send.
  const headers: string[] = ['host', o.headers.host ?? target.host];
  for (const name in o.headers)
    if (name !== 'host' && name !== 'content-length') headers.push(name, o.headers[name]!);
  if (o.body !== undefined) headers.push('content-length', String(Buffer.byteLength(o.body)));
  else if (o.headers['content-length'] !== undefined)
    headers.push('content-length', o.headers['content-length']);
  return new Promise<LoopbackAnswer>((resolve, reject) => {
    const req = httpRequest({
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      method: o.method,
      headers,
      agent,
    });
    const onAbort = function (this: AbortSignal): void {
      done();
      req.destroy();
      reject(abortReason(this));
    };
    const done = (): void => {
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
    req.once('error', (error) => {
      done();
      reject(new TypeError('fetch failed', { cause: error }));
    });
    req.once('response', (res) => resolve({ res, done }));
    req.end(o.body);
  });
}

/** Reads a whole (non-streaming) answer body. */
export function readLoopbackBody(answer: LoopbackAnswer): Promise<Buffer> {
  const { res, done } = answer;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    res.once('error', (error) => {
      done();
      reject(new TypeError('fetch failed', { cause: error }));
    });
  });
}

/** The answer as a fetch Response: SSE streams until the child ends it, anything else is read whole. */
export async function toFetchResponse(answer: LoopbackAnswer, method: string): Promise<Response> {
  const { res, done } = answer;
  const status = res.statusCode ?? 0;
  const init = { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res) };
  if (nullBodyStatus.has(status) || method === 'HEAD') {
    done();
    res.resume();
    return new Response(null, init);
  }
  if ((res.headers['content-type'] ?? '').includes('text/event-stream')) {
    // An abort destroys the socket and errors the stream.
    res.once('close', done);
    return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, init);
  }
  return new Response(await readLoopbackBody(answer), init);
}

export async function loopbackFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  const body = init?.body;
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
  if (url === undefined || !url.startsWith('http:') || (body != null && typeof body !== 'string'))
    return fetch(input, init);
  const method = init?.method ?? 'GET';
  const answer = await sendLoopback(url, {
    method,
    headers: plainHeaders(init?.headers),
    body: body ?? undefined,
    signal: init?.signal ?? undefined,
  });
  return toFetchResponse(answer, method);
}
