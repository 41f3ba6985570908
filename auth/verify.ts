// Verifies agent access tokens at the front door: RS256 only, iss/aud/exp/nbf with a small clock tolerance,
// key by kid from a local JWKS, a key folder or a remote JWKS URL. Child tokens are refused here.
// It must not decide what the agent may do (auth/policy.ts does).
import type { JWTPayload } from 'jose';
import { McpcpError } from '../lib/errors.ts';
import {
  createKeySource,
  type DirJwksOptions,
  type JwksOption,
  type RemoteJwksOptions,
} from './jwks-source.ts';
import { createJwtVerifier, type Principal, type TokenVerifier } from './jwt-verifier.ts';
import { tokenError } from './token-errors.ts';
import { childTokenType, kindClaim } from './token-kinds.ts';

export type { Principal, TokenVerifier, VerifierStats } from './jwt-verifier.ts';
export type { JwksOption } from './jwks-source.ts';

export interface TokenVerifierOptions {
  issuer: string;
  /** The canonical resource URL the tokens must name in `aud`. */
  audience: string;
  jwks: JwksOption;
  /** Allowed clock skew for exp/nbf (default 30 s). */
  clockToleranceSeconds?: number;
  now?: () => Date;
  /** Verified tokens remembered until they expire (default 10 000; 0 disables). */
  cacheSize?: number;
  /** Remote JWKS cache tuning ({url} form). */
  remote?: RemoteJwksOptions;
  /** How often a key folder's jwks.json is checked for changes ({dir} form, default 1000 ms). */
  reloadIntervalMs?: DirJwksOptions['reloadIntervalMs'];
}

export const defaultClockToleranceSeconds = 30;
export const defaultTokenCacheSize = 10_000;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { issuer, audience } = checkCommonOptions(options);
  return createJwtVerifier({
    issuer,
    audience,
    source: createKeySource(options.jwks, {
      ...options.remote,
      ...(options.reloadIntervalMs === undefined ? {} : { reloadIntervalMs: options.reloadIntervalMs }),
    }),
    clockToleranceSeconds: options.clockToleranceSeconds ?? defaultClockToleranceSeconds,
    now: options.now ?? (() => new Date()),
    cacheSize: options.cacheSize ?? defaultTokenCacheSize,
    requiredTyp: undefined,
    forbiddenTyp: childTokenType,
    checkKind: rejectInternalKinds,
  });
}

/** One-shot verification (builds a verifier each call: fine for CLIs, wasteful for servers). */
export async function verifyAgentToken(token: string, options: TokenVerifierOptions): Promise<Principal> {
  return createTokenVerifier({ ...options, cacheSize: 0 }).verify(token);
}

function rejectInternalKinds(payload: JWTPayload): void {
  const kind = payload[kindClaim];
  if (kind !== undefined && kind !== 'agent') {
    throw tokenError('ERR_TOKEN_CLAIMS', 'internal token used as an agent token');
  }
}

/** Validates the options every verifier shares, at construction time. */
export function checkCommonOptions(options: {
  issuer: string;
  audience: string;
  jwks: JwksOption;
  clockToleranceSeconds?: number;
}): { issuer: string; audience: string } {
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'token verifier needs an issuer');
  }
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'token verifier needs an audience');
  }
  const tolerance = options.clockToleranceSeconds;
  if (tolerance !== undefined && (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 300)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'clock tolerance must be 0..300 seconds');
  }
  if (typeof options.jwks !== 'object' || options.jwks === null) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'token verifier needs jwks: {keys}, {dir} or {url}');
  }
  return { issuer: options.issuer, audience: options.audience };
}
