// The node:http client toward HTTP children, against a real node:http server on port 0: what reaches the
// wire is what fetch would have sent (Host, Content-Length, the given headers once each).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackFetch, readLoopbackBody, sendLoopback } from '../../../proxy/upstreams/loopback-fetch.ts';

let server: Server;
let url: string;
let seen: { headers: IncomingHttpHeaders; raw: string[]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ headers: req.headers, raw: req.rawHeaders, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?x=1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());

describe('sendLoopback', () => {
  it('sends Host with the port, the body length and each given header once', async () => {
    seen = [];
    const body = JSON.stringify({ text: 'héllo' });
    const answer = await sendLoopback(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mcp-session-id': 's-1', 'content-length': '1' },
      body,
    });
    expect((await readLoopbackBody(answer)).toString()).toBe('{"ok":true}');
    const [request] = seen;
    expect(request!.headers.host).toBe(new URL(url).host);
    expect(request!.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(request!.headers['mcp-session-id']).toBe('s-1');
    expect(request!.body).toBe(body);
    const sent = names(request!.raw);
    expect(sent.filter((name) => name === 'host')).toHaveLength(1);
    expect(sent.filter((name) => name === 'content-length')).toHaveLength(1);
  });

  it('keeps a Host the caller gives', async () => {
    seen = [];
    await readLoopbackBody(await sendLoopback(url, { method: 'GET', headers: { host: 'child.internal' } }));
    expect(seen[0]!.headers.host).toBe('child.internal');
    expect(names(seen[0]!.raw).filter((name) => name === 'host')).toHaveLength(1);
  });

  it('refuses a header value with a line break instead of sending it', async () => {
    seen = [];
    await expect(
      sendLoopback(url, { method: 'POST', headers: { 'x-bad': 'a\r\nx-injected: 1' }, body: '{}' }),
    ).rejects.toThrow(/Invalid character/);
    expect(seen).toHaveLength(0);
  });
});

describe('loopbackFetch', () => {
  it('answers as fetch would, with the request the server expects', async () => {
    seen = [];
    const response = await loopbackFetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(seen[0]!.headers.host).toBe(new URL(url).host);
  });
});
