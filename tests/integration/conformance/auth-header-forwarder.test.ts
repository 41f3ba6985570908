// The test-only auth-header forwarder used to run the conformance CLI through the proxy: it must add
// the configured headers, stream SSE without buffering, and otherwise pass requests through as sent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAuthHeaderForwarder } from '../../helpers/auth-header-forwarder.ts';
import type { AuthHeaderForwarder } from '../../helpers/auth-header-forwarder.ts';

interface Seen {
  headers: http.IncomingHttpHeaders;
  body: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startTarget(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void,
): Promise<{ url: string; authority: string }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, res, { headers: req.headers, body }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mcp`, authority: `127.0.0.1:${port}` };
}

async function forwarderTo(
  target: string,
  options: { pinProtocolVersion?: string } = {},
): Promise<AuthHeaderForwarder> {
  const forwarder = await startAuthHeaderForwarder({
    target,
    headers: { Authorization: 'Bearer test-token' },
    ...options,
  });
  cleanups.push(() => forwarder.close());
  return forwarder;
}

const echo = (_req: http.IncomingMessage, res: http.ServerResponse, seen: Seen): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(seen));
};

describe('auth-header forwarder (test-only adapter)', () => {
  it('adds the Authorization header and presents itself to the target as the target', async () => {
    const target = await startTarget(echo);
    const forwarder = await forwarderTo(target.url);
    const own = new URL(forwarder.url);
    const response = await fetch(forwarder.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: own.origin, 'mcp-session-id': 'abc' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    const seen = (await response.json()) as Seen;
    expect(seen.headers.authorization).toBe('Bearer test-token');
    expect(seen.headers.host).toBe(target.authority);
    expect(seen.headers.origin).toBe(`http://${target.authority}`);
    expect(seen.headers['mcp-session-id']).toBe('abc');
    expect(seen.body).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}');
  });

  it('passes a foreign Host and Origin through unchanged', async () => {
    const target = await startTarget(echo);
    const forwarder = await forwarderTo(target.url);
    const own = new URL(forwarder.url);
    const seen = await new Promise<Seen>((resolve, reject) => {
      const req = http.request(
        {
          host: own.hostname,
          port: own.port,
          path: own.pathname,
          method: 'POST',
          headers: {
            host: 'evil.example.com',
            origin: 'http://evil.example.com',
            'content-type': 'application/json',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text) as Seen));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(seen.headers.host).toBe('evil.example.com');
    expect(seen.headers.origin).toBe('http://evil.example.com');
  });

  it('streams server-sent events as they are written, without buffering the response', async () => {
    let releaseSecond!: () => void;
    const secondMayGo = new Promise<void>((resolve) => (releaseSecond = resolve));
    const target = await startTarget((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: first\n\n');
      void secondMayGo.then(() => res.end('id: 2\ndata: second\n\n'));
    });
    const forwarder = await forwarderTo(target.url);
    const response = await fetch(forwarder.url, { headers: { accept: 'text/event-stream' } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    expect(first.value).toContain('data: first');
    releaseSecond();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value;
    expect(rest).toContain('data: second');
  });

  it('pins the protocol version an initialize request offers when asked to', async () => {
    const target = await startTarget(echo);
    const forwarder = await forwarderTo(target.url, { pinProtocolVersion: '2025-06-18' });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const response = await fetch(forwarder.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(initialize),
    });
    const seen = (await response.json()) as Seen;
    expect(JSON.parse(seen.body)).toMatchObject({
      method: 'initialize',
      params: { protocolVersion: '2025-06-18' },
    });
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(seen.body)));
  });
});
