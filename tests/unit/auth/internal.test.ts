// Internal proxy → child tokens: round trip, sign-side reuse, and no cross-use with agent tokens.
import { join } from 'node:path';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChildTokenVerifier, issueChildToken } from '../../../auth/internal.ts';
import { generateKeyPair, loadJwks, loadSigner, type Signer } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { createTokenVerifier } from '../../../auth/verify.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { audience, frozenClock, frozenNow, issuer, makeTempDir, nowSeconds, removeDir } from './_helpers.ts';

let root: string | undefined;
let dir: string;
let signer: Signer;

beforeAll(async () => {
  root = await makeTempDir();
  dir = join(root, 'keys');
  await generateKeyPair(dir);
  signer = await loadSigner(dir);
});
afterAll(async () => {
  await removeDir(root);
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof McpcpError ? error.code : `not McpcpError: ${String(error)}`;
  }
}

describe('child tokens', () => {
  it('round-trip: aud is the child id, sub the agent, lifetime 60 s by default', async () => {
    const token = await issueChildToken(signer, {
      issuer,
      child: 'channels',
      agent: 'alice',
      now: frozenNow,
      cache: false,
    });
    expect(decodeProtectedHeader(token)).toMatchObject({
      alg: 'RS256',
      kid: signer.kid,
      typ: 'mcpcp-child+jwt',
    });
    expect(decodeJwt(token)).toMatchObject({
      aud: 'channels',
      sub: 'alice',
      exp: nowSeconds + 60,
      mcpcp_kind: 'child',
    });
    const verifier = createChildTokenVerifier({ issuer, child: 'channels', jwks: { dir }, now: frozenClock });
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({ agent: 'alice', expiresAt: nowSeconds + 60, scopes: [] });
  });

  it('is refused by another child with ERR_TOKEN_AUDIENCE', async () => {
    const token = await issueChildToken(signer, {
      issuer,
      child: 'channels',
      agent: 'alice',
      now: frozenNow,
    });
    const other = createChildTokenVerifier({ issuer, child: 'bot-runner', jwks: { dir }, now: frozenClock });
    expect(await codeOf(other.verify(token))).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('is refused after its short lifetime with ERR_TOKEN_EXPIRED', async () => {
    const token = await issueChildToken(signer, {
      issuer,
      child: 'channels',
      agent: 'alice',
      now: frozenNow,
    });
    const later = createChildTokenVerifier({
      issuer,
      child: 'channels',
      jwks: { keys: await loadJwks(dir) },
      now: () => new Date(frozenNow.getTime() + 120_000),
    });
    expect(await codeOf(later.verify(token))).toBe('ERR_TOKEN_EXPIRED');
  });

  it('is refused when issued (iat) beyond the clock tolerance in the future, with ERR_TOKEN_NOT_YET_VALID', async () => {
    const verifier = createChildTokenVerifier({ issuer, child: 'channels', jwks: { dir }, now: frozenClock });
    const forged = await new SignJWT({ mcpcp_kind: 'child' })
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'mcpcp-child+jwt' })
      .setIssuer(issuer)
      .setSubject('alice')
      .setAudience('channels')
      .setIssuedAt(nowSeconds + 86_400)
      .setNotBefore(nowSeconds)
      .setExpirationTime(nowSeconds + 60)
      .sign(signer.privateKey);
    expect(await codeOf(verifier.verify(forged))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('can never be used as an agent token at the front door', async () => {
    const agentVerifier = createTokenVerifier({ issuer, audience, jwks: { dir }, now: frozenClock });
    const plain = await issueChildToken(signer, {
      issuer,
      child: 'channels',
      agent: 'alice',
      now: frozenNow,
    });
    expect(await codeOf(agentVerifier.verify(plain))).toBe('ERR_TOKEN_CLAIMS'); // its typ says child
    // Even a child token whose aud happens to equal the front door's is refused for its kind.
    const { SignJWT } = await import('jose');
    const sneaky = await new SignJWT({ mcpcp_kind: 'child' })
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'mcpcp-child+jwt' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject('alice')
      .setExpirationTime(nowSeconds + 60)
      .sign(signer.privateKey);
    expect(await codeOf(agentVerifier.verify(sneaky))).toBe('ERR_TOKEN_CLAIMS');
  });

  it('refuses an agent token at a child, even one whose aud names the child', async () => {
    const child = createChildTokenVerifier({ issuer, child: 'channels', jwks: { dir }, now: frozenClock });
    const agentToken = await issueAgentToken(signer, {
      issuer,
      audience,
      agent: 'alice',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect(await codeOf(child.verify(agentToken))).toBe('ERR_TOKEN_CLAIMS');
    const aimed = await issueAgentToken(signer, {
      issuer,
      audience: 'channels',
      agent: 'alice',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect(await codeOf(child.verify(aimed))).toBe('ERR_TOKEN_CLAIMS');
  });

  it('reuses a signed token per (child, agent) until half its lifetime has passed', async () => {
    const options = { issuer, child: 'reuse', agent: 'alice', ttlSeconds: 60 };
    const first = await issueChildToken(signer, { ...options, now: frozenNow });
    const again = await issueChildToken(signer, { ...options, now: new Date(frozenNow.getTime() + 29_000) });
    expect(again).toBe(first);
    const otherAgent = await issueChildToken(signer, { ...options, agent: 'bob', now: frozenNow });
    expect(otherAgent).not.toBe(first);
    const renewed = await issueChildToken(signer, {
      ...options,
      now: new Date(frozenNow.getTime() + 30_000),
    });
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).exp).toBe(nowSeconds + 90);
  });

  it('validates ids and lifetimes', async () => {
    for (const bad of [
      { child: 'Bad_Id', agent: 'alice' },
      { child: 'ok', agent: '' },
      { child: 'ok', agent: 'alice', ttlSeconds: 7200 },
    ]) {
      expect(await codeOf(issueChildToken(signer, { issuer, ...bad }))).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(() => createChildTokenVerifier({ issuer, child: 'NOPE', jwks: { dir } })).toThrow(McpcpError);
  });
});
