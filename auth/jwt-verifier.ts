// The one RS256 JWT verification path shared by agent tokens and internal child tokens: structure and
// algorithm checks, key by kid, iss/aud/exp/nbf/iat with clock tolerance, a kind check, then a principal.
// Verified tokens are cached until exp. It must not decide policy or know about HTTP.
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { KeySource } from './jwks-source.ts';
import { createTokenCache } from './token-cache.ts';
import { toTokenError, tokenError } from './token-errors.ts';

export interface Principal {
  /** The token's `sub`. */
  agent: string;
  /** From the `scope` claim (space-separated string, or an array of strings). */
  scopes: string[];
  claims: Readonly<Record<string, unknown>>;
  /** epoch seconds */
  expiresAt: number;
  tokenId?: string;
}

export interface VerifierStats {
  /** Tokens that went through the full signature check and passed. */
  verified: number;
  /** Tokens answered from the verified-token cache (no crypto). */
  cacheHits: number;
  rejected: number;
  cacheSize: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  stats(): VerifierStats;
}

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  source: KeySource;
  clockToleranceSeconds: number;
  now: () => Date;
  cacheSize: number;
  /** A `typ` header the token must carry (child tokens), or undefined to accept any but `forbiddenTyp`. */
  requiredTyp: string | undefined;
  /** A `typ` header that is refused (agent verifier refuses child tokens). */
  forbiddenTyp: string | undefined;
  /** Checks the payload's kind claim; throws ERR_TOKEN_CLAIMS when it is the wrong kind of token. */
  checkKind: (payload: JWTPayload) => void;
}

/** Longer than any sane JWT; refuses to parse megabytes of attacker input. */
const maxTokenLength = 16 * 1024;

export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const cache = createTokenCache<Principal>(options.cacheSize);
  const tolerance = options.clockToleranceSeconds;
  let verified = 0;
  let cacheHits = 0;
  let rejected = 0;

  async function verifyFully(token: string, nowDate: Date): Promise<Principal> {
    if (token.length > maxTokenLength) throw tokenError('ERR_TOKEN_INVALID', 'token too long');
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) {
      throw tokenError('ERR_TOKEN_INVALID', 'token is not a compact JWS');
    }
    const header = decodeHeader(token);
    if (typeof header.alg !== 'string') throw tokenError('ERR_TOKEN_INVALID', 'token has no alg');
    if (header.alg !== 'RS256') throw tokenError('ERR_TOKEN_ALGORITHM', 'token algorithm not allowed');
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw tokenError('ERR_TOKEN_UNKNOWN_KEY', 'token has no kid');
    }
    const typ = typeof header.typ === 'string' ? normalizeTyp(header.typ) : undefined;
    if (options.forbiddenTyp !== undefined && typ === normalizeTyp(options.forbiddenTyp)) {
      throw tokenError('ERR_TOKEN_CLAIMS', 'wrong kind of token');
    }
    if (options.requiredTyp !== undefined && typ !== normalizeTyp(options.requiredTyp)) {
      throw tokenError('ERR_TOKEN_CLAIMS', 'wrong kind of token');
    }
    const { payload } = await jwtVerify(token, (h) => options.source.getKey(h), {
      algorithms: ['RS256'],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: tolerance,
      currentDate: nowDate,
      requiredClaims: ['exp', 'sub'],
    });
    // jose checks iat only against a maximum age; a token "issued" in the future would otherwise stretch
    // its own life (and outlast a key's rotation) at will.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(nowDate.getTime() / 1000) + tolerance) {
      throw tokenError('ERR_TOKEN_NOT_YET_VALID', 'token issued in the future');
    }
    options.checkKind(payload);
    const principal = toPrincipal(payload);
    cache.set(token, {
      value: principal,
      kid: header.kid,
      exp: principal.expiresAt,
      nbf: typeof payload.nbf === 'number' ? payload.nbf - tolerance : undefined,
    });
    return principal;
  }

  return {
    async verify(token) {
      try {
        if (typeof token !== 'string' || token.trim() === '') {
          throw tokenError('ERR_TOKEN_MISSING', 'no token');
        }
        const nowDate = options.now();
        const hit = cache.get(token, Math.floor(nowDate.getTime() / 1000));
        if (hit !== undefined) {
          if (await options.source.hasKid(hit.kid)) {
            cacheHits += 1;
            return hit.value;
          }
          cache.delete(token);
        }
        const principal = await verifyFully(token, nowDate);
        verified += 1;
        return principal;
      } catch (error) {
        rejected += 1;
        throw toTokenError(error);
      }
    },
    stats: () => ({ verified, cacheHits, rejected, cacheSize: cache.size }),
  };
}

function decodeHeader(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch (cause) {
    throw tokenError('ERR_TOKEN_INVALID', 'token header malformed', cause);
  }
}

function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function toPrincipal(payload: JWTPayload): Principal {
  const { sub, exp, jti } = payload;
  if (typeof sub !== 'string' || sub === '') {
    throw tokenError('ERR_TOKEN_CLAIMS', 'token sub must be a non-empty string');
  }
  if (typeof exp !== 'number') throw tokenError('ERR_TOKEN_CLAIMS', 'token has no exp');
  const principal: Principal = {
    agent: sub,
    scopes: parseScopes(payload.scope),
    claims: deepFreeze(structuredClone(payload) as Record<string, unknown>),
    expiresAt: exp,
  };
  if (typeof jti === 'string') principal.tokenId = jti;
  Object.freeze(principal.scopes);
  // Cached principals are shared between requests: nobody may change one.
  return Object.freeze(principal);
}

function parseScopes(scope: unknown): string[] {
  if (scope === undefined) return [];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope) && scope.every((item) => typeof item === 'string')) return [...scope];
  throw tokenError('ERR_TOKEN_CLAIMS', 'token scope must be a string or a list of strings');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
