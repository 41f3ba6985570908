import { decodeProtectedHeader, decodeJwt } from 'jose';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner, type Signer } from '../../../auth/keys.ts';
import { issueAgentToken, parseTtl } from '../../../auth/tokens.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { audience, frozenNow, issuer, makeTempDir, nowSeconds, removeDir } from './_helpers.ts';

let root: string | undefined;
let signer: Signer;

beforeAll(async () => {
  root = await makeTempDir();
  await generateKeyPair(join(root, 'keys'));
  signer = await loadSigner(join(root, 'keys'));
});
afterAll(async () => {
  await removeDir(root);
});

function codeOfSync(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof McpcpError ? error.code : 'not McpcpError';
  }
}

describe('issueAgentToken', () => {
  it('signs iss, sub, aud, iat, nbf, exp, jti and scope with an RS256 header naming the kid', async () => {
    const token = await issueAgentToken(signer, {
      issuer,
      audience,
      agent: 'alice',
      ttlSeconds: 600,
      scope: ['b', 'a,c', 'a'],
      now: frozenNow,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: signer.kid, typ: 'at+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer,
      sub: 'alice',
      aud: audience,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: nowSeconds + 600,
      scope: 'b a c',
    });
    expect(typeof claims.jti).toBe('string');
  });

  it('gives every token its own jti', async () => {
    const options = { issuer, audience, agent: 'alice', ttlSeconds: 60, now: frozenNow };
    const [a, b] = await Promise.all([issueAgentToken(signer, options), issueAgentToken(signer, options)]);
    expect(decodeJwt(a).jti).not.toBe(decodeJwt(b).jti);
  });

  it('refuses extra claims that would override registered ones, and bad names or lifetimes', async () => {
    const base = { issuer, audience, agent: 'alice', ttlSeconds: 60 };
    const attempts = [
      { ...base, claims: { sub: 'admin' } },
      { ...base, claims: { aud: 'x' } },
      { ...base, claims: { mcpcp_kind: 'child' } },
      { ...base, agent: '' },
      { ...base, agent: 'has space' },
      { ...base, ttlSeconds: 0 },
      { ...base, ttlSeconds: 1.5 },
      { ...base, issuer: '' },
      { ...base, scope: ['"quoted"'] },
    ];
    for (const options of attempts) {
      await expect(issueAgentToken(signer, options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });
});

describe('parseTtl', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('3600s')).toBe(3600);
    expect(parseTtl('30m')).toBe(1800);
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('2d')).toBe(172_800);
    expect(parseTtl(' 1H ')).toBe(3600);
  });

  it('rejects zero, negative, fractional, unknown units and more than a year', () => {
    for (const text of ['0', '-1h', '1.5h', '1w', 'h', '', 'soon', '400d']) {
      expect(
        codeOfSync(() => parseTtl(text)),
        text,
      ).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});
