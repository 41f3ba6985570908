// A small fetch for talking to HTTP children: node:http with a keep-alive agent, for the string
// bodies the SDK client sends. JSON answers are read whole into one buffer; SSE answers stream.
// It skips undici's fetch machinery (Request objects, fetch controller, header conversions), which
// cost the proxy more per call than the child's own work. Anything it does not handle (a non-string
// body, a non-http URL) goes to the global fetch, so behaviour stays that of fetch.
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 1000 });
const nullBodyStatus = new Set([101, 103, 204, 205, 304]);

type FetchInput = string | URL | Request;

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

export function loopbackFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  const body = init?.body;
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
  if (url === undefined || !url.startsWith('http:') || (body != null && typeof body !== 'string'))
    return fetch(input, init);
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const headers = plainHeaders(init?.headers);
  if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise<Response>((resolve, reject) => {
    const method = init?.method ?? 'GET';
    const req = httpRequest(url, { method, headers, agent });
    const onAbort = (): void => {
      req.destroy();
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TypeError('fetch failed', { cause: error }));
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const answer = { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res) };
      const type = res.headers['content-type'] ?? '';
      if (nullBodyStatus.has(status) || method === 'HEAD') {
        signal?.removeEventListener('abort', onAbort);
        res.resume();
        resolve(new Response(null, answer));
        return;
      }
      if (type.includes('text/event-stream')) {
        // Streams until the child ends it; an abort destroys the socket and errors the stream.
        res.once('close', () => signal?.removeEventListener('abort', onAbort));
        resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, answer));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(new Response(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), answer));
      });
      res.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new TypeError('fetch failed', { cause: error }));
      });
    });
    req.end(body ?? undefined);
  });
}
