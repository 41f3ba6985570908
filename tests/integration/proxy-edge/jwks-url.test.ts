import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, initializeBody, mcpHeaders, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
let jwksServer: Server;
let jwksFetches = 0;
let keysFolder = '';

beforeAll(async () => {
  // Serves the harness's public keys, as an identity provider's JWKS endpoint would.
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    readFile(path.join(keysFolder, 'jwks.json'), 'utf8').then(
      (text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  const yaml = configYaml().replace(
    'keysDir: ./keys',
    `keysDir: ./keys\n  jwksUrl: http://127.0.0.1:${port}/jwks.json`,
  );
  h = await startHarness(yaml);
  keysFolder = path.join(h.dir, 'keys');
});

afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => jwksServer.close(resolve));
});

describe('proxy with a remote JWKS (proxy.jwksUrl)', () => {
  it('verifies agent tokens against the remote key set, fetching it once for many requests', async () => {
    const token = await h!.token('alice');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(h!.proxy.mcpUrl, {
        method: 'POST',
        headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
        body: initializeBody,
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    expect(jwksFetches).toBe(1);
  });

  it('still refuses a token it cannot verify', async () => {
    const res = await fetch(h!.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: 'Bearer not.a.jwt' },
      body: initializeBody,
    });
    expect(res.status).toBe(401);
  });
});
