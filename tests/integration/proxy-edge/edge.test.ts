import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { request as httpRequest } from 'node:http';
import { execa } from 'execa';
import { SignJWT } from 'jose';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBody, mcpHeaders, startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

const ping = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' });

function challengeOf(res: Response): string {
  return res.headers.get('www-authenticate') ?? '';
}

describe('proxy edge over HTTP', () => {
  it('answers a request without a token with 401 and a challenge pointing at the resource metadata', async () => {
    const res = await fetch(h.proxy.mcpUrl, { method: 'POST', headers: mcpHeaders, body: initializeBody });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toBe(`Bearer resource_metadata="${h.proxy.urls.resourceMetadataUrl}"`);
    expect(h.proxy.urls.resourceMetadataUrl).toBe(`${h.proxy.url}/.well-known/oauth-protected-resource/mcp`);
  });

  it('answers a forged token (signed by another key) with 401 invalid_token', async () => {
    const otherKeys = path.join(h.dir, 'other-keys');
    await generateKeyPair(otherKeys);
    const forged = await issueAgentToken(await loadSigner(otherKeys), {
      issuer: h.proxy.urls.issuer,
      audience: h.proxy.urls.resource,
      agent: 'alice',
      ttlSeconds: 300,
    });
    const res = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${forged}` },
      body: initializeBody,
    });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/,
    );
  });

  it('answers an expired token with 401 and says it expired', async () => {
    const expired = await h.token('alice', { ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    const res = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${expired}` },
      body: initializeBody,
    });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toContain('error_description="The access token expired"');
  });

  it('refuses a token issued a day in the future with 401 naming the code `mcpcp token verify` prints', async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: h.signer.kid, typ: 'at+jwt' })
      .setIssuer(h.proxy.urls.issuer)
      .setSubject('alice')
      .setAudience(h.proxy.urls.resource)
      .setIssuedAt(now + 86_400)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(h.signer.privateKey);
    const res = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${future}` },
      body: initializeBody,
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { data: { code: 'ERR_TOKEN_NOT_YET_VALID' } } });
    const cli = await execa(
      process.execPath,
      [
        path.resolve('launcher/bin/mcpcp.ts'),
        'token',
        'verify',
        future,
        '--keys-dir',
        path.join(h.dir, 'keys'),
        '--issuer',
        h.proxy.urls.issuer,
        '--audience',
        h.proxy.urls.resource,
      ],
      { reject: false, cwd: h.dir },
    );
    expect(cli.exitCode).toBe(2);
    expect(cli.stderr).toContain('(ERR_TOKEN_NOT_YET_VALID)');
  });

  it('answers a token for another audience with 401', async () => {
    const wrong = await h.token('alice', { audience: 'http://elsewhere.example/mcp' });
    const res = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${wrong}` },
      body: initializeBody,
    });
    expect(res.status).toBe(401);
  });

  it('serves RFC 9728 protected-resource metadata naming the canonical /mcp URL and the issuer', async () => {
    for (const suffix of ['', '/mcp']) {
      const res = await fetch(`${h.proxy.url}/.well-known/oauth-protected-resource${suffix}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: `${h.proxy.url}/mcp`,
        authorization_servers: [h.proxy.url],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp'],
        resource_name: 'MCPCP',
      });
    }
  });

  it('refuses a foreign Origin and a foreign Host with 403 before looking at the token', async () => {
    const token = await h.token('alice');
    const origin = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}`, origin: 'https://evil.example' },
      body: ping,
    });
    expect(origin.status).toBe(403);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(h.proxy.mcpUrl, {
        method: 'POST',
        headers: { ...mcpHeaders, host: 'rebound.evil.example', authorization: `Bearer ${token}` },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(ping);
    });
    expect(status).toBe(403);
  });

  it('answers malformed JSON, a batch array and wrong shapes with clear JSON-RPC errors', async () => {
    const token = await h.token('alice');
    const post = (body: string) =>
      fetch(h.proxy.mcpUrl, {
        method: 'POST',
        headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
        body,
      });
    const malformed = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const batch = await post(`[${ping},${ping}]`);
    expect(batch.status).toBe(400);
    const batchBody = (await batch.json()) as { error: { code: number; message: string } };
    expect(batchBody.error.code).toBe(-32600);
    expect(batchBody.error.message).toMatch(/batches .*removed in MCP 2025-06-18/);
    const shape = await post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 42 }));
    expect(shape.status).toBe(400);
    expect(await shape.json()).toMatchObject({ id: 4, error: { code: -32600 } });
  });

  it('refuses an oversized body with 413 (declared or streamed) and keeps serving others', async () => {
    const token = await h.token('alice');
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'ping',
      params: { pad: 'x'.repeat(100_000) },
    });
    const declared = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    // Chunked, no Content-Length: counted while streaming.
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(encoder.encode('x'.repeat(8192)));
        controller.close();
      },
    });
    const streamed = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: stream,
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    // The proxy keeps serving: an authenticated MCP handshake right after succeeds.
    const after = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: initializeBody,
    });
    expect(after.status).toBe(200);
    await after.body?.cancel();
  });

  it('reports liveness, and readiness with the upstream states', async () => {
    const health = await fetch(`${h.proxy.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${h.proxy.url}/readyz`);
    const body = (await ready.json()) as { ready: boolean; upstreams: { id: string; state: string }[] };
    expect(ready.status).toBe(body.ready ? 200 : 503);
    expect(body.upstreams.map((u) => u.id)).toEqual(['everything']);
  });

  it('exposes Prometheus metrics including HTTP statuses, upstream state and sessions', async () => {
    const res = await fetch(`${h.proxy.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/mcpcp_http_requests_total\{route="\/mcp",method="POST",status="401"\} \d+/);
    expect(text).toMatch(/mcpcp_upstream_up\{server="everything"\} [01]/);
    expect(text).toMatch(/mcpcp_sessions \d+/);
    expect(text).toContain('mcpcp_process_resident_memory_bytes');
  });
});

describe('the one depth limit, and __proto__ keys', () => {
  const modernHeaders = (token: string, name: string) => ({
    ...mcpHeaders,
    authorization: `Bearer ${token}`,
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': name,
  });
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
  };

  it('refuses arguments nested 5,000 levels deep with -32600 naming the limit, on both lanes', async () => {
    const token = await h.token('alice');
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"everything_echo","arguments":${deep},"_meta":${JSON.stringify(envelope)}}}`;
    for (const chunked of [false, true]) {
      const res = await fetch(h.proxy.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(token, 'everything_echo'),
        ...(chunked
          ? {
              body: new ReadableStream({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode(body));
                  controller.close();
                },
              }),
              duplex: 'half',
            }
          : { body }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        id: 7,
        error: { code: -32600, message: expect.stringMatching(/deeper than 128 levels/) },
      });
    }
  });

  it('serves a message with a top-level "__proto__" key as the same message without it, on both lanes', async () => {
    const token = await h.token('alice');
    const body = `{"jsonrpc":"2.0","id":8,"__proto__":{"polluted":true},"method":"tools/call","params":{"name":"everything_echo","arguments":{"message":"hi","__proto__":{"x":1}},"_meta":${JSON.stringify(envelope)}}}`;
    for (const chunked of [false, true]) {
      const res = await fetch(h.proxy.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(token, 'everything_echo'),
        ...(chunked
          ? {
              body: new ReadableStream({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode(body));
                  controller.close();
                },
              }),
              duplex: 'half',
            }
          : { body }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).toContain('Echo: hi');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
