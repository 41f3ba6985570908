// The proxy serves the fleet's public JWKS at /.well-known/jwks.json: from keysDir (public members only, even if
// the file held a private key) or from jwksUrl; a missing key set is a 503, not a crash.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JSONWebKeySet } from 'jose';
import { generateKeyPair } from '../../../auth/keys.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { createProxyApp } from '../../../proxy/app.ts';
import { createPublicJwksSource, publicKeysOnly } from '../../../proxy/edge/public-jwks.ts';
import { createProxyMetrics } from '../../../proxy/metrics.ts';

function appFor(keysDir: string) {
  const config = parseConfig(`proxy: { keysDir: ${JSON.stringify(keysDir)} }\n`, 'mcpcp.yaml', '/tmp');
  return createProxyApp({
    verifier: { verify: () => Promise.reject(new Error('unused')) },
    gateway: {
      handleMcp: () => Promise.resolve(new Response(null)),
      isReady: () => true,
      upstreamStates: () => [],
      sessionCount: () => 0,
    },
    config,
    logger: createSilentLogger(),
    metrics: createProxyMetrics(),
  });
}

describe('public JWKS at /.well-known/jwks.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-jwks-'));
    await generateKeyPair(join(dir, 'keys'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("serves keysDir's public key set with CORS for any origin", async () => {
    const response = await appFor(join(dir, 'keys')).request('http://127.0.0.1:8080/.well-known/jwks.json', {
      headers: { origin: 'https://example.com' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const served = (await response.json()) as JSONWebKeySet;
    const onDisk = JSON.parse(await readFile(join(dir, 'keys', 'jwks.json'), 'utf8')) as JSONWebKeySet;
    expect(served).toEqual(onDisk);
    expect(served.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  });

  it('never serves private members, even when the file holds them', async () => {
    const keysDir = join(dir, 'leaky');
    const { kid } = await generateKeyPair(keysDir);
    const file = join(keysDir, 'jwks.json');
    const jwks = JSON.parse(await readFile(file, 'utf8')) as JSONWebKeySet;
    jwks.keys[0] = { ...jwks.keys[0], d: 'secret', p: 'x', q: 'y', dp: 'a', dq: 'b', qi: 'c' };
    jwks.keys.push({ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' });
    await writeFile(file, JSON.stringify(jwks));
    const response = await appFor(keysDir).request('http://127.0.0.1:8080/.well-known/jwks.json');
    const served = (await response.json()) as JSONWebKeySet;
    expect(served.keys).toHaveLength(1);
    expect(served.keys[0]!.kid).toBe(kid);
    expect(Object.keys(served.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('answers 503 when there is no key set to serve', async () => {
    const response = await appFor(join(dir, 'nowhere')).request(
      'http://127.0.0.1:8080/.well-known/jwks.json',
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'jwks_unavailable' });
  });

  it('re-reads the key set after its time to live, so a rotated key appears', async () => {
    const keysDir = join(dir, 'rotating');
    await generateKeyPair(keysDir);
    let now = 0;
    const source = createPublicJwksSource({ keysDir, ttlMs: 1_000, now: () => now });
    expect((await source()).keys).toHaveLength(1);
    await generateKeyPair(keysDir, { force: true });
    const rotated = publicKeysOnly(
      JSON.parse(await readFile(join(keysDir, 'jwks.json'), 'utf8')) as JSONWebKeySet,
    );
    now = 500;
    expect(await source()).not.toEqual(rotated);
    now = 1_500;
    expect(await source()).toEqual(rotated);
  });

  it('fetches jwksUrl with the bounded fetcher: a redirect or an oversized answer is refused (ERR_JWKS_FETCH)', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/redirect') res.writeHead(302, { location: 'http://127.0.0.1:9/jwks.json' }).end();
      else if (req.url === '/huge')
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(`{"keys":[],"pad":"${'x'.repeat(300 * 1024)}"}`);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const source = (path: string) => createPublicJwksSource({ keysDir: dir, jwksUrl: `${base}${path}` });
      expect(await source('/ok')()).toEqual({ keys: [] });
      await expect(source('/redirect')()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH' });
      await expect(source('/huge')()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH' });
    } finally {
      server.close();
    }
  });
});
