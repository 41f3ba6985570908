// Internal child tokens: the proxy signs a short-lived JWT per upstream call (aud = the child id, sub = the
// agent, typ mcpcp-child+jwt, mcpcp_kind 'child'); first-party children verify it. Never an agent token
// and never accepted as one. The proxy's agent token is never forwarded (no token passthrough).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { McpcpError } from '../lib/errors.ts';
import { createKeySource, type JwksOption } from './jwks-source.ts';
import { createJwtVerifier, type Principal } from './jwt-verifier.ts';
import type { Signer } from './keys.ts';
import { tokenError } from './token-errors.ts';
import { childKind, childTokenType, isValidSubject, kindClaim } from './token-kinds.ts';
import { checkCommonOptions, defaultClockToleranceSeconds } from './verify.ts';

export interface ChildTokenOptions {
  issuer: string;
  /** The child's server id (config `servers[].id`); becomes `aud`. */
  child: string;
  /** The calling agent; becomes `sub`. */
  agent: string;
  /** Lifetime, default 60 s, at most 1 hour. */
  ttlSeconds?: number;
  now?: Date;
  /** Reuse a token for the same (issuer, child, agent) until half its lifetime has passed (default true). */
  cache?: boolean;
}

const childIdPattern = /^[a-z][a-z0-9-]{0,31}$/;
const maxChildTtlSeconds = 3600;
const maxCachedPerSigner = 10_000;

interface SignedToken {
  token: string;
  reuseUntil: number;
}

// Per signer, so a rotated key never reuses tokens of the old one; entries die with the signer.
const signedTokens = new WeakMap<Signer, Map<string, SignedToken>>();

export async function issueChildToken(signer: Signer, options: ChildTokenOptions): Promise<string> {
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'child token needs an issuer');
  }
  if (!childIdPattern.test(options.child)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid child id ${JSON.stringify(options.child)}`);
  }
  if (!isValidSubject(options.agent)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid agent name ${JSON.stringify(options.agent)}`);
  }
  const ttl = options.ttlSeconds ?? 60;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > maxChildTtlSeconds) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `child token lifetime must be 1..${maxChildTtlSeconds} s`);
  }
  const nowMs = (options.now ?? new Date()).getTime();
  const useCache = options.cache !== false;
  const key = `${options.issuer}\n${options.child}\n${options.agent}\n${ttl}`;
  let perSigner = signedTokens.get(signer);
  const cached = useCache ? perSigner?.get(key) : undefined;
  if (cached !== undefined && nowMs < cached.reuseUntil) return cached.token;

  const iat = Math.floor(nowMs / 1000);
  const token = await new SignJWT({ [kindClaim]: childKind })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: childTokenType })
    .setIssuer(options.issuer)
    .setSubject(options.agent)
    .setAudience(options.child)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomUUID())
    .sign(signer.privateKey);
  if (useCache) {
    if (perSigner === undefined) {
      perSigner = new Map();
      signedTokens.set(signer, perSigner);
    }
    perSigner.delete(key);
    perSigner.set(key, { token, reuseUntil: (iat + ttl / 2) * 1000 });
    if (perSigner.size > maxCachedPerSigner) {
      const oldest = perSigner.keys().next();
      if (oldest.done !== true) perSigner.delete(oldest.value);
    }
  }
  return token;
}

export interface ChildTokenVerifierOptions {
  issuer: string;
  child: string;
  jwks: JwksOption;
  clockToleranceSeconds?: number;
  now?: () => Date;
  /** Verified tokens remembered until they expire (default 1000). */
  cacheSize?: number;
}

export interface ChildTokenVerifier {
  verify(token: string): Promise<Principal>;
}

export function createChildTokenVerifier(options: ChildTokenVerifierOptions): ChildTokenVerifier {
  const { issuer } = checkCommonOptions({ ...options, audience: options.child });
  if (!childIdPattern.test(options.child)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid child id ${JSON.stringify(options.child)}`);
  }
  const verifier = createJwtVerifier({
    issuer,
    audience: options.child,
    source: createKeySource(options.jwks),
    clockToleranceSeconds: options.clockToleranceSeconds ?? defaultClockToleranceSeconds,
    now: options.now ?? (() => new Date()),
    cacheSize: options.cacheSize ?? 1000,
    requiredTyp: childTokenType,
    forbiddenTyp: undefined,
    checkKind(payload) {
      if (payload[kindClaim] !== childKind) {
        throw tokenError('ERR_TOKEN_CLAIMS', 'agent token used as an internal token');
      }
    },
  });
  return { verify: (token) => verifier.verify(token) };
}
