import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { createProxyApp } from '../../../proxy/app.ts';
import type { Principal } from '../../../proxy/gateway/index.ts';
import { createProxyMetrics } from '../../../proxy/metrics.ts';
import { createRateLimiter } from '../../../proxy/rate-limit.ts';

const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 8080 }
  publicUrl: http://127.0.0.1:8080
  allowedOrigins: [https://claude.ai]
  limits: { maxBodyBytes: 1024 }
`;

interface Seen {
  principal: Principal;
  parsedBody: unknown;
}

function setup(options: { requiredScopes?: string[]; verify?: (token: string) => Promise<Principal> } = {}) {
  const config = parseConfig(yaml, 'mcpcp.yaml', '/tmp');
  const seen: Seen[] = [];
  let now = 0;
  const rateLimiter = createRateLimiter<Principal>({
    limitFor: (p) => (p.agent === 'limited' ? { requestsPerMinute: 60, burst: 1 } : undefined),
    keyOf: (p) => p.agent,
    now: () => now,
  });
  const verify =
    options.verify ??
    ((token: string) => {
      if (token === 'expired') return Promise.reject(new McpcpError('ERR_TOKEN_EXPIRED', 'exp in the past'));
      if (token === 'forged') return Promise.reject(new McpcpError('ERR_TOKEN_SIGNATURE', 'bad sig'));
      return Promise.resolve({ agent: token, scopes: ['mcp'], claims: {}, expiresAt: 2e9 });
    });
  const app = createProxyApp({
    verifier: { verify },
    gateway: {
      handleMcp: (_request, principal, opts) => {
        seen.push({ principal, parsedBody: opts?.parsedBody });
        return Promise.resolve(Response.json({ jsonrpc: '2.0', id: 1, result: {} }));
      },
      isReady: () => true,
      upstreamStates: () => [{ id: 'everything', transport: 'stdio', state: 'ready', tools: 3 }],
      sessionCount: () => 2,
    },
    config,
    logger: createSilentLogger(),
    metrics: createProxyMetrics(),
    rateLimiter,
    requiredScopes: options.requiredScopes,
  });
  const post = (body: string, headers: Record<string, string> = {}) =>
    app.request('http://127.0.0.1:8080/mcp', {
      method: 'POST',
      body,
      headers: {
        host: '127.0.0.1:8080',
        authorization: 'Bearer alice',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
    });
  return { app, seen, post, advance: (ms: number) => (now += ms) };
}

const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
const metadataUrl = 'http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp';

describe('proxy app (in-process)', () => {
  it('passes a valid request to the gateway with the principal and the parsed body', async () => {
    const { post, seen } = setup();
    const res = await post(ping);
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.principal.agent).toBe('alice');
    expect(seen[0]!.parsedBody).toEqual(JSON.parse(ping));
  });

  it('answers a missing token with 401 and a challenge without an error code', async () => {
    const { post } = setup();
    const res = await post(ping, { authorization: '' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
  });

  it('answers an expired token with 401 invalid_token', async () => {
    const { post } = setup();
    const res = await post(ping, { authorization: 'Bearer expired' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token expired", resource_metadata="${metadataUrl}"`,
    );
    expect(await res.json()).toMatchObject({ error: { data: { code: 'ERR_TOKEN_EXPIRED' } } });
  });

  it('names the refusal code of a bad or missing token in the 401 body, as `mcpcp token verify` does', async () => {
    const { post } = setup();
    const forged = await post(ping, { authorization: 'Bearer forged' });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({
      error: { message: 'Unauthorized: The access token is invalid', data: { code: 'ERR_TOKEN_SIGNATURE' } },
    });
    const missing = await post(ping, { authorization: '' });
    expect(await missing.json()).toMatchObject({ error: { data: { code: 'ERR_TOKEN_MISSING' } } });
  });

  it('answers 403 insufficient_scope when a required scope is missing', async () => {
    const { post } = setup({ requiredScopes: ['mcp', 'admin'] });
    const res = await post(ping);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(res.headers.get('www-authenticate')).toContain('scope="mcp admin"');
  });

  it('answers an unexpected verifier failure with 500, not 401', async () => {
    const { post } = setup({ verify: () => Promise.reject(new Error('boom')) });
    const res = await post(ping);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { code: -32603, message: 'Internal error' } });
  });

  it('answers a JWKS outage with 503', async () => {
    const { post } = setup({ verify: () => Promise.reject(new McpcpError('ERR_JWKS_FETCH', 'down')) });
    expect((await post(ping)).status).toBe(503);
  });

  it('refuses foreign Host and Origin headers with 403', async () => {
    const { post } = setup();
    expect((await post(ping, { host: 'evil.example:8080' })).status).toBe(403);
    expect((await post(ping, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(ping, { origin: 'https://claude.ai' })).status).toBe(200);
    expect((await post(ping, { origin: 'http://localhost:5173' })).status).toBe(200);
  });

  it('gives an allowed browser origin CORS headers, and a request without Origin none', async () => {
    const { app, post } = setup();
    const plain = await post(ping);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('access-control-expose-headers')).toBeNull();

    const browser = await post(ping, { origin: 'https://claude.ai' });
    expect(browser.status).toBe(200);
    expect(browser.headers.get('access-control-allow-origin')).toBe('https://claude.ai');
    expect(browser.headers.get('access-control-expose-headers')).toContain('Mcp-Session-Id');
    expect(browser.headers.get('content-type')).toContain('application/json');

    const preflight = await app.request('http://127.0.0.1:8080/mcp', {
      method: 'OPTIONS',
      headers: {
        host: '127.0.0.1:8080',
        origin: 'https://claude.ai',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-session-id',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://claude.ai');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Mcp-Session-Id');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('refuses a body over the limit with 413, even without Content-Length', async () => {
    const { app, post, seen } = setup();
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2000) } });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(200)));
        controller.close();
      },
    });
    const streamed = await app.request('http://127.0.0.1:8080/mcp', {
      method: 'POST',
      body: chunks,
      duplex: 'half',
      headers: { host: '127.0.0.1:8080', authorization: 'Bearer alice', 'content-type': 'application/json' },
    });
    expect(streamed.status).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it('answers malformed JSON with -32700 and HTTP 400', async () => {
    const { post } = setup();
    const res = await post('{"jsonrpc":');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('answers a batch array with -32600 saying batches were removed', async () => {
    const { post } = setup();
    const res = await post(`[${ping}]`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toMatch(/batch.*2025-06-18/i);
  });

  it('answers wrong JSON-RPC shapes with -32600', async () => {
    const { post } = setup();
    const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'x', params: 'nope' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 3, error: { code: -32600 } });
  });

  it('answers a non-JSON content type with 415', async () => {
    const { post } = setup();
    expect((await post(ping, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('rate-limits per agent with 429 and Retry-After, then recovers', async () => {
    const { post, advance } = setup();
    expect((await post(ping, { authorization: 'Bearer limited' })).status).toBe(200);
    const refused = await post(ping, { authorization: 'Bearer limited' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ id: 1, error: { code: -32000 } });
    expect((await post(ping)).status).toBe(200);
    advance(1000);
    expect((await post(ping, { authorization: 'Bearer limited' })).status).toBe(200);
  });

  it('does not rate-limit notifications and responses', async () => {
    const { post } = setup();
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    for (let i = 0; i < 3; i++)
      expect((await post(note, { authorization: 'Bearer limited' })).status).toBe(200);
  });

  it('serves protected-resource metadata at both well-known paths', async () => {
    const { app } = setup();
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const res = await app.request(`http://127.0.0.1:8080${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        resource: 'http://127.0.0.1:8080/mcp',
        authorization_servers: ['http://127.0.0.1:8080'],
        bearer_methods_supported: ['header'],
      });
    }
  });

  it('serves healthz, readyz with upstream states, and metrics', async () => {
    const { app } = setup();
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true });
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      upstreams: [{ id: 'everything', state: 'ready' }],
    });
    const metrics = await (
      await app.request('http://127.0.0.1:8080/metrics', { headers: { host: '127.0.0.1' } })
    ).text();
    expect(metrics).toContain('mcpcp_upstream_up{server="everything"} 1');
    expect(metrics).toContain('mcpcp_sessions 2');
    expect(metrics).toContain('mcpcp_http_requests_total{route="/readyz",method="GET",status="200"} 1');
  });

  it('refuses other HTTP methods on /mcp with 405', async () => {
    const { app } = setup();
    const res = await app.request('http://127.0.0.1:8080/mcp', {
      method: 'PUT',
      headers: { host: '127.0.0.1' },
    });
    expect(res.status).toBe(405);
  });
});
