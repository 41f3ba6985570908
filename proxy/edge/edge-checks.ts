// The edge's checks of one request to /mcp, in order, as one decision used by both the Hono app (app.ts)
// and the node:http lane (node-lane.ts), so the two can never judge a request differently: bearer token,
// scopes, JSON content type, the body (read under the byte limit by the caller's own reader), JSON, the
// JSON-RPC shape with the one depth limit, OAuth step-up scopes, the rate limit. It decides and says which step refused; how a
// refusal is written (status, challenge, audit line) is the app's, and the lane hands every refusal to the
// app. Host/Origin and a declared oversize body are refused before any of this, by the app's middleware
// and its first line (the lane only takes requests those would pass). Nothing here touches HTTP.
import { isJsonContentType } from '@modelcontextprotocol/server';
import { McpcpError } from '../../lib/errors.ts';
import type { Principal } from '../gateway/index.ts';
import type { RateLimiter, RateDecision } from '../rate-limit.ts';
import { extractBearerToken } from './bearer.ts';
import type { LimitedBody } from './body.ts';
import { checkJsonRpcMessage, type JsonRpcId, type MessageCheck } from './jsonrpc.ts';

export interface EdgeCheckDeps {
  verifier: { verify(token: string): Promise<Principal> };
  requiredScopes: readonly string[];
  rateLimiter?: RateLimiter<Principal> | undefined;
  stepUp?: StepUp | undefined;
}

/** OAuth step-up (proxy/oauth/scopes.ts): the scopes a request needs when its token lacks them, else undefined. */
export type StepUp = (
  principal: Principal,
  method: string,
  params: Record<string, unknown> | undefined,
) => readonly string[] | undefined;

export interface EdgeRequest {
  authorization: string | null | undefined;
  contentType: string | null | undefined;
  /** POST: reads the body under the byte limit (rejects when it cannot be read). GET/DELETE: undefined. */
  readBody?: (() => Promise<LimitedBody>) | undefined;
  /** The rate-limit token for this request was already taken (the lane took it, then handed it over). */
  charged: boolean;
}

type OkCheck = Extract<MessageCheck, { ok: true }>;

export type EdgeVerdict =
  | { ok: true; principal: Principal; message?: unknown; check?: OkCheck }
  | { ok: false; step: 'token'; error: unknown }
  | { ok: false; step: 'scope'; principal: Principal }
  | { ok: false; step: 'step-up'; principal: Principal; scopes: readonly string[]; id: JsonRpcId }
  | { ok: false; step: 'media-type'; principal: Principal }
  | { ok: false; step: 'too-large'; principal: Principal }
  | { ok: false; step: 'unreadable'; principal: Principal; error: unknown }
  | { ok: false; step: 'parse'; principal: Principal }
  | { ok: false; step: 'shape'; principal: Principal; code: number; message: string; id: JsonRpcId }
  | {
      ok: false;
      step: 'rate';
      principal: Principal;
      check: Extract<OkCheck, { kind: 'request' }>;
      decision: Extract<RateDecision, { allowed: false }>;
    };

export async function checkEdge(request: EdgeRequest, deps: EdgeCheckDeps): Promise<EdgeVerdict> {
  const token = extractBearerToken(request.authorization);
  let principal: Principal;
  try {
    if (token === undefined) throw new McpcpError('ERR_TOKEN_MISSING', 'no Bearer token');
    principal = await deps.verifier.verify(token);
  } catch (error) {
    return { ok: false, step: 'token', error };
  }
  if (deps.requiredScopes.some((scope) => !principal.scopes.includes(scope)))
    return { ok: false, step: 'scope', principal };
  if (request.readBody === undefined) return { ok: true, principal };
  if (!isJsonContentType(request.contentType ?? null)) return { ok: false, step: 'media-type', principal };
  let body: LimitedBody;
  try {
    body = await request.readBody();
  } catch (error) {
    return { ok: false, step: 'unreadable', principal, error };
  }
  if (body.tooLarge) return { ok: false, step: 'too-large', principal };
  let message: unknown;
  try {
    message = JSON.parse(body.text);
  } catch {
    return { ok: false, step: 'parse', principal };
  }
  const check = checkJsonRpcMessage(message);
  if (!check.ok)
    return { ok: false, step: 'shape', principal, code: check.code, message: check.message, id: check.id };
  const needed = check.kind === 'request' ? deps.stepUp?.(principal, check.method, check.params) : undefined;
  if (needed !== undefined && check.kind === 'request')
    return { ok: false, step: 'step-up', principal, scopes: needed, id: check.id };
  if (check.kind === 'request' && deps.rateLimiter !== undefined && !request.charged) {
    const decision = deps.rateLimiter.take(principal);
    if (!decision.allowed) return { ok: false, step: 'rate', principal, check, decision };
  }
  return { ok: true, principal, message, check };
}
