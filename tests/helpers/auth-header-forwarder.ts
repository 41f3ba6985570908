// TEST-ONLY loopback adapter between the official conformance CLI and a server that needs extra
// request headers (the MCPCP proxy wants `Authorization: Bearer <agent JWT>`; the CLI has no option
// to send headers). It listens on 127.0.0.1, injects the configured headers and streams everything
// else through untouched in both directions, SSE included (no buffering, no re-framing).
// Two narrow, opt-in rewrites keep it transparent:
//  - Host / Origin naming the forwarder itself are renamed to the target, so the target sees what a
//    direct client would send (foreign values, e.g. the DNS-rebinding probe's, pass unchanged);
//  - `pinProtocolVersion` rewrites `params.protocolVersion` of `initialize` requests, so a client that
//    only offers its newest revision negotiates an older one (era coverage).
// Never use it outside tests: it exists because the CLI cannot add headers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthHeaderForwarderOptions {
  /** Target URL (e.g. http://127.0.0.1:8080/mcp); its origin receives every request. */
  target: string;
  /** Headers added to (or replacing) every forwarded request's headers. */
  headers?: Record<string, string>;
  /** If set, `initialize` requests are rewritten to offer this protocol version. */
  pinProtocolVersion?: string;
}

export interface AuthHeaderForwarder {
  /** The forwarder's own URL with the target's path, e.g. http://127.0.0.1:PORT/mcp. */
  url: string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

async function readAll(stream: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Returns the body with `params.protocolVersion` of an `initialize` request replaced, or unchanged. */
function pinInitializeVersion(body: Buffer, version: string): Buffer {
  try {
    const message = JSON.parse(body.toString('utf8')) as {
      method?: unknown;
      params?: Record<string, unknown>;
    };
    if (message.method !== 'initialize' || typeof message.params !== 'object' || message.params === null)
      return body;
    message.params.protocolVersion = version;
    return Buffer.from(JSON.stringify(message));
  } catch {
    return body;
  }
}

export async function startAuthHeaderForwarder(
  options: AuthHeaderForwarderOptions,
): Promise<AuthHeaderForwarder> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:')
    throw new TypeError('auth-header-forwarder only forwards to http:// targets');
  const injected = Object.entries(options.headers ?? {}).map(
    ([name, value]) => [name.toLowerCase(), value] as const,
  );
  const agent = new http.Agent({ keepAlive: true });
  let ownAuthority = '';

  const server = http.createServer((req, res) => {
    void forward(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`auth-header-forwarder: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const headers = stripHopByHop(req.headers);
    if (headers.host === ownAuthority) headers.host = target.host;
    if (headers.origin === `http://${ownAuthority}`) headers.origin = target.origin;
    for (const [name, value] of injected) headers[name] = value;

    let body: Buffer | undefined;
    if (options.pinProtocolVersion !== undefined && req.method === 'POST') {
      body = pinInitializeVersion(await readAll(req), options.pinProtocolVersion);
      headers['content-length'] = String(body.length);
    }

    const upstream = http.request({
      agent,
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, stripHopByHop(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (error) => {
      if (res.headersSent) res.destroy(error);
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`auth-header-forwarder: ${error.message}`);
      }
    });
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  ownAuthority = `127.0.0.1:${port}`;

  return {
    url: `http://${ownAuthority}${target.pathname}${target.search}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
