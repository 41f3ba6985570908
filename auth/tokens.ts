// Issues agent access tokens: RS256 JWTs with iss, sub (the agent), aud (the canonical /mcp URL), iat, nbf,
// exp, jti and an optional space-separated `scope`. It must not verify tokens or read key files.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { McpcpError } from '../lib/errors.ts';
import type { Signer } from './keys.ts';
import { agentTokenType, isValidSubject, reservedClaims } from './token-kinds.ts';
import { checkTtlSeconds } from './ttl.ts';

export { parseTtl } from './ttl.ts';

export interface AgentTokenOptions {
  issuer: string;
  /** The canonical resource URL, e.g. http://127.0.0.1:9003/mcp. */
  audience: string;
  agent: string;
  ttlSeconds: number;
  scope?: string[];
  /** Extra private claims; registered claims (iss, sub, aud, exp, …) cannot be overridden. */
  claims?: Record<string, unknown>;
  now?: Date;
}

export async function issueAgentToken(signer: Signer, options: AgentTokenOptions): Promise<string> {
  requireText('issuer', options.issuer);
  requireText('audience', options.audience);
  if (!isValidSubject(options.agent)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid agent name ${JSON.stringify(options.agent)}`);
  }
  const ttl = checkTtlSeconds(options.ttlSeconds);
  const extra = options.claims ?? {};
  for (const name of Object.keys(extra)) {
    if (reservedClaims.has(name)) {
      throw new McpcpError('ERR_INVALID_ARGUMENT', `claim ${name} is set by the issuer`);
    }
  }
  const payload: Record<string, unknown> = { ...extra };
  const scope = normalizeScope(options.scope);
  if (scope !== undefined) payload.scope = scope;
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: agentTokenType })
    .setIssuer(options.issuer)
    .setSubject(options.agent)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomUUID())
    .sign(signer.privateKey);
}

function normalizeScope(scope: readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const values = [...new Set(scope.flatMap((item) => item.split(/[\s,]+/)).filter(Boolean))];
  for (const value of values) {
    // RFC 6749 §3.3 scope-token: printable ASCII except space, " and \.
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(value)) {
      throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid scope ${JSON.stringify(value)}`);
    }
  }
  return values.length > 0 ? values.join(' ') : undefined;
}

function requireText(name: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `${name} is required`);
  }
}
