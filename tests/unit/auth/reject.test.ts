// Every token the front door must refuse, each with its own error code.
import { join } from 'node:path';
import { SignJWT, exportJWK, exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  loadJwks,
  loadSigner,
  removeKey,
  rotateKey,
  type Signer,
} from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { createTokenVerifier, type TokenVerifier } from '../../../auth/verify.ts';
import { McpcpError } from '../../../lib/errors.ts';
import {
  audience,
  encodeJson,
  flipChar,
  frozenClock,
  frozenNow,
  issuer,
  makeTempDir,
  nowSeconds,
  removeDir,
  signHs256,
  splitToken,
  validClaims,
} from './_helpers.ts';

let root: string | undefined;
let dir: string;
let signer: Signer;
let stranger: Signer;
let verifier: TokenVerifier;

beforeAll(async () => {
  root = await makeTempDir();
  dir = join(root, 'keys');
  await generateKeyPair(dir);
  signer = await loadSigner(dir);
  await generateKeyPair(join(root, 'stranger'));
  stranger = await loadSigner(join(root, 'stranger'));
  verifier = createTokenVerifier({ issuer, audience, jwks: { dir }, now: frozenClock });
});
afterAll(async () => {
  await removeDir(root);
});

async function rejection(token: string, using: TokenVerifier = verifier): Promise<string> {
  try {
    await using.verify(token);
  } catch (error) {
    if (error instanceof McpcpError) return error.code;
    throw error;
  }
  throw new Error('token was accepted');
}

function issue(overrides: Partial<Parameters<typeof issueAgentToken>[1]> = {}): Promise<string> {
  return issueAgentToken(signer, {
    issuer,
    audience,
    agent: 'alice',
    ttlSeconds: 3600,
    now: frozenNow,
    ...overrides,
  });
}

function signRaw(
  claims: Record<string, unknown>,
  key: Signer = signer,
  kid: string = key.kid,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' }).sign(key.privateKey);
}

describe('agent token verification refuses', () => {
  it('an expired token with ERR_TOKEN_EXPIRED', async () => {
    const token = await issue({ now: new Date(frozenNow.getTime() - 2 * 3600_000) });
    expect(await rejection(token)).toBe('ERR_TOKEN_EXPIRED');
  });

  it('a token expired by more than the clock tolerance, but not one within it', async () => {
    const justPast = await signRaw(validClaims({ exp: nowSeconds - 31 }));
    expect(await rejection(justPast)).toBe('ERR_TOKEN_EXPIRED');
    const withinTolerance = await signRaw(validClaims({ exp: nowSeconds - 10 }));
    await expect(verifier.verify(withinTolerance)).resolves.toMatchObject({ agent: 'alice' });
  });

  it('a token that is not yet valid with ERR_TOKEN_NOT_YET_VALID', async () => {
    const token = await issue({ now: new Date(frozenNow.getTime() + 3600_000) });
    expect(await rejection(token)).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('a token issued (iat) a day in the future with ERR_TOKEN_NOT_YET_VALID, even with nbf and exp now', async () => {
    const dayAhead = await signRaw(validClaims({ iat: nowSeconds + 86_400 }));
    expect(await rejection(dayAhead)).toBe('ERR_TOKEN_NOT_YET_VALID');
    const pastTolerance = await signRaw(validClaims({ iat: nowSeconds + 31 }));
    expect(await rejection(pastTolerance)).toBe('ERR_TOKEN_NOT_YET_VALID');
    const withinTolerance = await signRaw(validClaims({ iat: nowSeconds + 10 }));
    await expect(verifier.verify(withinTolerance)).resolves.toMatchObject({ agent: 'alice' });
    const notANumber = await signRaw(validClaims({ iat: 'tomorrow' }));
    expect(await rejection(notANumber)).toBe('ERR_TOKEN_CLAIMS');
  });

  it('a token for another audience with ERR_TOKEN_AUDIENCE', async () => {
    const token = await issue({ audience: 'http://127.0.0.1:9999/other' });
    expect(await rejection(token)).toBe('ERR_TOKEN_AUDIENCE');
    expect(await rejection(await signRaw(validClaims({ aud: undefined })))).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('a token from another issuer with ERR_TOKEN_ISSUER', async () => {
    const token = await issue({ issuer: 'http://evil.example' });
    expect(await rejection(token)).toBe('ERR_TOKEN_ISSUER');
  });

  it('an unsigned token (alg none) with ERR_TOKEN_ALGORITHM', async () => {
    const header = encodeJson({ alg: 'none', typ: 'JWT', kid: signer.kid });
    expect(await rejection(`${header}.${encodeJson(validClaims())}.`)).toBe('ERR_TOKEN_ALGORITHM');
    const upper = encodeJson({ alg: 'NONE', kid: signer.kid });
    expect(await rejection(`${upper}.${encodeJson(validClaims())}.`)).toBe('ERR_TOKEN_ALGORITHM');
  });

  it('HS256 signed with the public key PEM as secret (algorithm confusion) with ERR_TOKEN_ALGORITHM', async () => {
    const jwk = (await loadJwks(dir)).keys[0]!;
    const pem = await exportSPKI((await import('node:crypto')).createPublicKey({ key: jwk, format: 'jwk' }));
    const token = signHs256({ kid: signer.kid, typ: 'JWT' }, validClaims(), pem);
    expect(await rejection(token)).toBe('ERR_TOKEN_ALGORITHM');
  });

  it('HS256 signed with the public JWK as secret (algorithm confusion) with ERR_TOKEN_ALGORITHM', async () => {
    const jwk = (await loadJwks(dir)).keys[0]!;
    const asJson = signHs256({ kid: signer.kid }, validClaims(), JSON.stringify(jwk));
    expect(await rejection(asJson)).toBe('ERR_TOKEN_ALGORITHM');
    const asModulus = signHs256({ kid: signer.kid }, validClaims(), Buffer.from(jwk.n!, 'base64url'));
    expect(await rejection(asModulus)).toBe('ERR_TOKEN_ALGORITHM');
    const publicJwk = await exportJWK(
      (await import('node:crypto')).createPublicKey({ key: jwk, format: 'jwk' }),
    );
    expect(await rejection(signHs256({ kid: signer.kid }, validClaims(), JSON.stringify(publicJwk)))).toBe(
      'ERR_TOKEN_ALGORITHM',
    );
  });

  it('other asymmetric algorithms than RS256 (PS256, RS512) with ERR_TOKEN_ALGORITHM', async () => {
    for (const alg of ['PS256', 'RS512', 'ES256', 'EdDSA']) {
      const forged = `${encodeJson({ alg, kid: signer.kid })}.${encodeJson(validClaims())}.c2ln`;
      expect(await rejection(forged)).toBe('ERR_TOKEN_ALGORITHM');
    }
  });

  it('a token signed by a key that is not in the JWKS with ERR_TOKEN_UNKNOWN_KEY', async () => {
    const token = await issueAgentToken(stranger, {
      issuer,
      audience,
      agent: 'alice',
      ttlSeconds: 60,
      now: frozenNow,
    });
    expect(await rejection(token)).toBe('ERR_TOKEN_UNKNOWN_KEY');
    expect(await rejection(await signRaw(validClaims(), signer, ''))).toBe('ERR_TOKEN_UNKNOWN_KEY');
  });

  it('a token from a foreign key that claims a trusted kid with ERR_TOKEN_SIGNATURE', async () => {
    expect(await rejection(await signRaw(validClaims(), stranger, signer.kid))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('a token with a tampered payload with ERR_TOKEN_SIGNATURE', async () => {
    const [header, , signature] = splitToken(await issue());
    const tampered = `${header}.${encodeJson(validClaims({ sub: 'admin' }))}.${signature}`;
    expect(await rejection(tampered)).toBe('ERR_TOKEN_SIGNATURE');
    const [h2, payload2, sig2] = splitToken(await issue());
    expect(await rejection(`${h2}.${flipChar(payload2)}.${sig2}`)).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('a token with a tampered signature with ERR_TOKEN_SIGNATURE', async () => {
    const [header, payload, signature] = splitToken(await issue());
    expect(await rejection(`${header}.${payload}.${flipChar(signature)}`)).toBe('ERR_TOKEN_SIGNATURE');
    expect(await rejection(`${header}.${payload}.`)).toBe('ERR_TOKEN_SIGNATURE');
    expect(await rejection(`${header}.${payload}.${signature.slice(0, -8)}`)).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('a token without sub with ERR_TOKEN_CLAIMS', async () => {
    expect(await rejection(await signRaw(validClaims({ sub: undefined })))).toBe('ERR_TOKEN_CLAIMS');
    expect(await rejection(await signRaw(validClaims({ sub: '' })))).toBe('ERR_TOKEN_CLAIMS');
    expect(await rejection(await signRaw(validClaims({ sub: 42 })))).toBe('ERR_TOKEN_CLAIMS');
  });

  it('a token without exp, or with a non-numeric exp, with ERR_TOKEN_CLAIMS', async () => {
    expect(await rejection(await signRaw(validClaims({ exp: undefined })))).toBe('ERR_TOKEN_CLAIMS');
    expect(await rejection(await signRaw(validClaims({ exp: 'tomorrow' })))).toBe('ERR_TOKEN_CLAIMS');
  });

  it('an empty token with ERR_TOKEN_MISSING', async () => {
    expect(await rejection('')).toBe('ERR_TOKEN_MISSING');
    expect(await rejection('   ')).toBe('ERR_TOKEN_MISSING');
    expect(await rejection(undefined as unknown as string)).toBe('ERR_TOKEN_MISSING');
  });

  it('garbage strings with ERR_TOKEN_INVALID', async () => {
    const garbage = [
      'garbage',
      'Bearer abc',
      'a.b',
      'a.b.c',
      '...',
      'a.b.c.d.e',
      'eyJ.eyJ.sig',
      `${encodeJson('just a string')}.${encodeJson(validClaims())}.c2ln`,
      `${Buffer.from('{"alg":"RS256"').toString('base64url')}.e30.c2ln`,
      `${encodeJson({ kid: signer.kid })}.${encodeJson(validClaims())}.c2ln`,
      'x'.repeat(20_000),
      'ä.ö.ü',
      `${encodeJson({ alg: 'RS256', kid: signer.kid })}.${encodeJson(validClaims())}.sig with spaces`,
    ];
    for (const token of garbage) expect(await rejection(token), token.slice(0, 40)).toBe('ERR_TOKEN_INVALID');
  });

  it('a validly signed payload that is not a JSON object with ERR_TOKEN_INVALID', async () => {
    const header = encodeJson({ alg: 'RS256', kid: signer.kid });
    const payload = Buffer.from('not json').toString('base64url');
    const { createSign } = await import('node:crypto');
    const signature = createSign('RSA-SHA256')
      .update(`${header}.${payload}`)
      .sign(signer.privateKey as never, 'base64url');
    expect(await rejection(`${header}.${payload}.${signature}`)).toBe('ERR_TOKEN_INVALID');
  });

  it('a valid token from a key removed after rotation with ERR_TOKEN_UNKNOWN_KEY', async () => {
    const rotating = join(root!, 'rotating');
    await generateKeyPair(rotating);
    const old = await loadSigner(rotating);
    const oldToken = await issueAgentToken(old, {
      issuer,
      audience,
      agent: 'alice',
      ttlSeconds: 3600,
      now: frozenNow,
    });
    const rotated = createTokenVerifier({
      issuer,
      audience,
      jwks: { dir: rotating },
      now: frozenClock,
      reloadIntervalMs: 0,
    });
    await rotateKey(rotating);
    await expect(rotated.verify(oldToken)).resolves.toMatchObject({ agent: 'alice' }); // still published
    await removeKey(rotating, old.kid);
    expect(await rejection(oldToken, rotated)).toBe('ERR_TOKEN_UNKNOWN_KEY'); // even though it was cached
    const fresh = createTokenVerifier({ issuer, audience, jwks: { dir: rotating }, now: frozenClock });
    expect(await rejection(oldToken, fresh)).toBe('ERR_TOKEN_UNKNOWN_KEY');
  });

  it('a token valid in every way but typed as an internal child token with ERR_TOKEN_CLAIMS', async () => {
    const typed = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'mcpcp-child+jwt' })
      .sign(signer.privateKey);
    expect(await rejection(typed)).toBe('ERR_TOKEN_CLAIMS');
    expect(await rejection(await signRaw(validClaims({ mcpcp_kind: 'child' })))).toBe('ERR_TOKEN_CLAIMS');
  });
});
