// Operator tokens: what an operator signs in to the web console with (proxy/console/). An RS256 JWT signed by the
// fleet key, typ mcpcp-operator+jwt, mcpcp_kind 'operator', aud = the proxy's `/console` URL, sub = the operator's
// name. Told apart from agent and child tokens three ways (typ, kind claim, audience), so none passes for another.
// It must not know about HTTP or sessions.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { McpcpError } from '../lib/errors.ts';
import { createKeySource, type JwksOption } from './jwks-source.ts';
import { createJwtVerifier, type Principal } from './jwt-verifier.ts';
import type { Signer } from './keys.ts';
import { tokenError } from './token-errors.ts';
import { isValidSubject, kindClaim, operatorKind, operatorTokenType } from './token-kinds.ts';
import { checkTtlSeconds } from './ttl.ts';
import { checkCommonOptions, defaultClockToleranceSeconds } from './verify.ts';

/** The console's URL, the audience of operator tokens: `<publicUrl>/console`. */
export function consoleAudience(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/console`;
}

export interface OperatorTokenOptions {
  issuer: string;
  /** `consoleAudience(publicUrl)`. */
  audience: string;
  /** Who signs in (shown in the console); default 'operator'. */
  operator?: string;
  ttlSeconds: number;
  now?: Date;
}

export async function issueOperatorToken(signer: Signer, options: OperatorTokenOptions): Promise<string> {
  if (typeof options.issuer !== 'string' || options.issuer === '')
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'operator token needs an issuer');
  if (typeof options.audience !== 'string' || !options.audience.endsWith('/console'))
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'operator token audience must be the console URL');
  const operator = options.operator ?? 'operator';
  if (!isValidSubject(operator))
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid operator name ${JSON.stringify(operator)}`);
  const ttl = checkTtlSeconds(options.ttlSeconds);
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ [kindClaim]: operatorKind })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: operatorTokenType })
    .setIssuer(options.issuer)
    .setSubject(operator)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomUUID())
    .sign(signer.privateKey);
}

export interface OperatorTokenVerifier {
  verify(token: string): Promise<Principal>;
}

export function createOperatorTokenVerifier(options: {
  issuer: string;
  audience: string;
  jwks: JwksOption;
  now?: () => Date;
}): OperatorTokenVerifier {
  const { issuer, audience } = checkCommonOptions(options);
  const verifier = createJwtVerifier({
    issuer,
    audience,
    source: createKeySource(options.jwks),
    clockToleranceSeconds: defaultClockToleranceSeconds,
    now: options.now ?? (() => new Date()),
    // Sign-ins are rare; nothing to gain from remembering tokens.
    cacheSize: 0,
    requiredTyp: operatorTokenType,
    forbiddenTyp: undefined,
    checkKind(payload) {
      if (payload[kindClaim] !== operatorKind) throw tokenError('ERR_TOKEN_CLAIMS', 'not an operator token');
    },
  });
  return { verify: (token) => verifier.verify(token) };
}
