// Accepted tokens, the principal, rotation, the key folder and remote JWKS sources, and the verified-token cache.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  loadJwks,
  loadSigner,
  removeKey,
  rotateKey,
  type Signer,
} from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { createTokenVerifier, verifyAgentToken } from '../../../auth/verify.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { audience, frozenClock, frozenNow, issuer, makeTempDir, nowSeconds, removeDir } from './_helpers.ts';

let root: string | undefined;
let dir: string;
let signer: Signer;
let jwks: JSONWebKeySet;

beforeAll(async () => {
  root = await makeTempDir();
  dir = join(root, 'keys');
  await generateKeyPair(dir);
  signer = await loadSigner(dir);
  jwks = await loadJwks(dir);
});
afterAll(async () => {
  await removeDir(root);
});

function issue(agent = 'alice', extra: Partial<Parameters<typeof issueAgentToken>[1]> = {}): Promise<string> {
  return issueAgentToken(signer, { issuer, audience, agent, ttlSeconds: 3600, now: frozenNow, ...extra });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof McpcpError ? error.code : `not McpcpError: ${String(error)}`;
  }
}

describe('createTokenVerifier', () => {
  it('accepts a fresh agent token and returns the principal', async () => {
    const verifier = createTokenVerifier({ issuer, audience, jwks: { keys: jwks }, now: frozenClock });
    const token = await issue('alice', {
      scope: ['channels.read', 'channels.write'],
      claims: { team: 'red' },
    });
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({
      agent: 'alice',
      scopes: ['channels.read', 'channels.write'],
      expiresAt: nowSeconds + 3600,
    });
    expect(principal.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(principal.claims).toMatchObject({ iss: issuer, aud: audience, sub: 'alice', team: 'red' });
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('reads scopes given as a list of strings', async () => {
    const verifier = createTokenVerifier({ issuer, audience, jwks: { keys: jwks }, now: frozenClock });
    const { SignJWT } = await import('jose');
    const token = await new SignJWT({ scope: ['a', 'b'] })
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid })
      .setIssuer(issuer)
      .setAudience([audience, 'http://other'])
      .setSubject('bob')
      .setExpirationTime(nowSeconds + 60)
      .sign(signer.privateKey);
    expect(await verifier.verify(token)).toMatchObject({ agent: 'bob', scopes: ['a', 'b'] });
  });

  it('validates its options when built', () => {
    expect(() => createTokenVerifier({ issuer: '', audience, jwks: { keys: jwks } })).toThrow(McpcpError);
    expect(() => createTokenVerifier({ issuer, audience: '', jwks: { keys: jwks } })).toThrow(McpcpError);
    expect(() => createTokenVerifier({ issuer, audience, jwks: { url: 'file:///etc/passwd' } })).toThrow(
      McpcpError,
    );
    expect(() => createTokenVerifier({ issuer, audience, jwks: {} as never })).toThrow(McpcpError);
    expect(() =>
      createTokenVerifier({ issuer, audience, jwks: { keys: jwks }, clockToleranceSeconds: -1 }),
    ).toThrow(McpcpError);
  });

  it('verifies one-shot with verifyAgentToken', async () => {
    const principal = await verifyAgentToken(await issue('carol'), {
      issuer,
      audience,
      jwks: { dir },
      now: frozenClock,
    });
    expect(principal.agent).toBe('carol');
  });
});

describe('verified-token cache', () => {
  it('answers a repeated token from the cache without a second signature check', async () => {
    const verifier = createTokenVerifier({ issuer, audience, jwks: { keys: jwks }, now: frozenClock });
    const token = await issue();
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(second).toBe(first);
    expect(verifier.stats()).toMatchObject({ verified: 1, cacheHits: 1, cacheSize: 1 });
  });

  it('never answers for a cached token at or after its exp', async () => {
    let now = frozenNow;
    const verifier = createTokenVerifier({
      issuer,
      audience,
      jwks: { keys: jwks },
      now: () => now,
      clockToleranceSeconds: 0,
    });
    const token = await issue('alice', { ttlSeconds: 60 });
    await verifier.verify(token);
    now = new Date(frozenNow.getTime() + 59_000);
    await verifier.verify(token);
    expect(verifier.stats().cacheHits).toBe(1);
    now = new Date(frozenNow.getTime() + 60_000);
    expect(await codeOf(verifier.verify(token))).toBe('ERR_TOKEN_EXPIRED');
    expect(verifier.stats()).toMatchObject({ cacheHits: 1, cacheSize: 0 });
  });

  it('stays bounded, dropping the least recently used token', async () => {
    const verifier = createTokenVerifier({
      issuer,
      audience,
      jwks: { keys: jwks },
      now: frozenClock,
      cacheSize: 2,
    });
    const [a, b, c] = await Promise.all([issue('a'), issue('b'), issue('c')]);
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a); // a is now the most recently used
    await verifier.verify(c); // evicts b
    expect(verifier.stats()).toMatchObject({ verified: 3, cacheHits: 1, cacheSize: 2 });
    await verifier.verify(a);
    expect(verifier.stats().cacheHits).toBe(2);
    await verifier.verify(b);
    expect(verifier.stats().verified).toBe(4);
  });

  it('does not cache rejected tokens', async () => {
    const verifier = createTokenVerifier({ issuer, audience, jwks: { keys: jwks }, now: frozenClock });
    const wrong = await issue('alice', { audience: 'http://else/mcp' });
    expect(await codeOf(verifier.verify(wrong))).toBe('ERR_TOKEN_AUDIENCE');
    expect(await codeOf(verifier.verify(wrong))).toBe('ERR_TOKEN_AUDIENCE');
    expect(verifier.stats()).toMatchObject({ verified: 0, cacheHits: 0, rejected: 2, cacheSize: 0 });
  });
});

describe('key folder source', () => {
  let keysDir: string;
  afterEach(async () => {
    await removeDir(keysDir);
  });

  it('picks up a rotated key without a restart; the old key verifies while it is still present', async () => {
    keysDir = await makeTempDir();
    await generateKeyPair(keysDir);
    const oldSigner = await loadSigner(keysDir);
    const verifier = createTokenVerifier({ issuer, audience, jwks: { dir: keysDir }, now: frozenClock });
    const oldToken = await issueAgentToken(oldSigner, {
      issuer,
      audience,
      agent: 'old',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect((await verifier.verify(oldToken)).agent).toBe('old');

    await rotateKey(keysDir);
    const newSigner = await loadSigner(keysDir);
    expect(newSigner.kid).not.toBe(oldSigner.kid);
    const newToken = await issueAgentToken(newSigner, {
      issuer,
      audience,
      agent: 'new',
      ttlSeconds: 60,
      now: frozenNow,
    });
    // The unknown kid makes the verifier look at the file again at once, whatever the reload interval.
    expect((await verifier.verify(newToken)).agent).toBe('new');
    const again = await issueAgentToken(oldSigner, {
      issuer,
      audience,
      agent: 'old2',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect((await verifier.verify(again)).agent).toBe('old2');
  });

  it('fails closed when jwks.json disappears', async () => {
    keysDir = await makeTempDir();
    await generateKeyPair(keysDir);
    const verifier = createTokenVerifier({
      issuer,
      audience,
      jwks: { dir: keysDir },
      now: frozenClock,
      reloadIntervalMs: 0,
    });
    const token = await issueAgentToken(await loadSigner(keysDir), {
      issuer,
      audience,
      agent: 'a',
      ttlSeconds: 60,
      now: frozenNow,
    });
    await verifier.verify(token);
    const { rm } = await import('node:fs/promises');
    await rm(join(keysDir, 'jwks.json'));
    expect(await codeOf(verifier.verify(token))).toBe('ERR_TOKEN_UNKNOWN_KEY');
  });

  it('treats a folder without jwks.json as holding no keys', async () => {
    keysDir = await makeTempDir();
    const verifier = createTokenVerifier({
      issuer,
      audience,
      jwks: { dir: join(keysDir, 'none') },
      now: frozenClock,
    });
    expect(await codeOf(verifier.verify(await issue()))).toBe('ERR_TOKEN_UNKNOWN_KEY');
  });

  it('keeps the previous keys when jwks.json is replaced by a broken file', async () => {
    keysDir = await makeTempDir();
    await generateKeyPair(keysDir);
    const verifier = createTokenVerifier({
      issuer,
      audience,
      jwks: { dir: keysDir },
      now: frozenClock,
      reloadIntervalMs: 0,
    });
    const local = await loadSigner(keysDir);
    const token = await issueAgentToken(local, {
      issuer,
      audience,
      agent: 'a',
      ttlSeconds: 60,
      now: frozenNow,
    });
    await verifier.verify(token);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(keysDir, 'jwks.json'), '{"keys": [');
    const other = await issueAgentToken(local, {
      issuer,
      audience,
      agent: 'b',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect((await verifier.verify(other)).agent).toBe('b');
  });
});

describe('remote JWKS source', () => {
  let server: Server | undefined;
  let requests = 0;
  let served: JSONWebKeySet = { keys: [] };
  let status = 200;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify(served) : 'nope');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  afterEach(() => {
    requests = 0;
    status = 200;
  });

  it('fetches the key set once and serves later tokens from its cache', async () => {
    served = jwks;
    const verifier = createTokenVerifier({ issuer, audience, jwks: { url }, now: frozenClock, cacheSize: 0 });
    for (const agent of ['a', 'b', 'c'])
      expect((await verifier.verify(await issue(agent))).agent).toBe(agent);
    expect(requests).toBe(1);
  });

  it('refetches on an unknown kid only after the cooldown', async () => {
    const remoteDir = await makeTempDir();
    try {
      await generateKeyPair(remoteDir);
      const first = await loadSigner(remoteDir);
      served = await loadJwks(remoteDir);
      const patient = createTokenVerifier({
        issuer,
        audience,
        jwks: { url },
        now: frozenClock,
        remote: { cooldownMs: 60_000 },
      });
      const eager = createTokenVerifier({
        issuer,
        audience,
        jwks: { url },
        now: frozenClock,
        remote: { cooldownMs: 0 },
      });
      const token1 = await issueAgentToken(first, {
        issuer,
        audience,
        agent: 'one',
        ttlSeconds: 60,
        now: frozenNow,
      });
      await patient.verify(token1);
      await eager.verify(token1);
      expect(requests).toBe(2);

      await rotateKey(remoteDir);
      served = await loadJwks(remoteDir);
      const token2 = await issueAgentToken(await loadSigner(remoteDir), {
        issuer,
        audience,
        agent: 'two',
        ttlSeconds: 60,
        now: frozenNow,
      });
      expect(await codeOf(patient.verify(token2))).toBe('ERR_TOKEN_UNKNOWN_KEY'); // within cooldown: no fetch
      expect(requests).toBe(2);
      expect((await eager.verify(token2)).agent).toBe('two');
      expect(requests).toBe(3);

      // Removed upstream: once the cache is refreshed, cached verifications of the old key die too.
      await removeKey(remoteDir, first.kid);
      served = await loadJwks(remoteDir);
      const forget = createTokenVerifier({
        issuer,
        audience,
        jwks: { url },
        now: frozenClock,
        remote: { cacheMaxAgeMs: 0 },
      });
      expect(await codeOf(forget.verify(token1))).toBe('ERR_TOKEN_UNKNOWN_KEY');
    } finally {
      await removeDir(remoteDir);
    }
  });

  it('reports an unreachable or broken JWKS endpoint as ERR_JWKS_FETCH', async () => {
    status = 500;
    const verifier = createTokenVerifier({ issuer, audience, jwks: { url }, now: frozenClock });
    expect(await codeOf(verifier.verify(await issue()))).toBe('ERR_JWKS_FETCH');
    const tiny = createTokenVerifier({
      issuer,
      audience,
      jwks: { url },
      now: frozenClock,
      remote: { maxBytes: 10 },
    });
    status = 200;
    expect(await codeOf(tiny.verify(await issue()))).toBe('ERR_JWKS_FETCH');
    const closed = createTokenVerifier({
      issuer,
      audience,
      jwks: { url: 'http://127.0.0.1:1/jwks.json' },
      now: frozenClock,
    });
    expect(await codeOf(closed.verify(await issue()))).toBe('ERR_JWKS_FETCH');
  });
});
