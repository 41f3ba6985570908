// Step-up for OAuth-issued tokens: which configured scopes cover a call's target (a qualified tool or prompt
// name, or a resource URI; globs as in policy rules), and the 403 `insufficient_scope` answer's scope list
// when the token holds none of them: the scopes it has plus the first that covers the call, so a client that
// asks again for exactly that list loses nothing. Lists need no scope (the policy decides what is listed).
// Tokens minted by the operator (`mcpcp token issue`, no grant claim) are not subject to it.
// Pure; it must not decide policy (auth/policy.ts does, after this).
import picomatch from 'picomatch';
import type { OAuthConfig } from '../../config/schema.ts';
import { grantClaim } from './claims.ts';

export interface ScopedPrincipal {
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The scopes a call needs when its token lacks them (for WWW-Authenticate), or undefined when it may go on. */
export type StepUp = (
  principal: ScopedPrincipal,
  method: string,
  params: Record<string, unknown> | undefined,
) => readonly string[] | undefined;

function targetOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  const value =
    method === 'tools/call' || method === 'prompts/get'
      ? params?.name
      : method === 'resources/read' || method === 'resources/subscribe'
        ? params?.uri
        : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function createStepUp(scopes: OAuthConfig['scopes']): StepUp {
  const compiled = Object.entries(scopes).map(([name, scope]) => ({
    name,
    matches: scope.allow.map((glob) => picomatch(glob, { dot: true })),
  }));
  return (principal, method, params) => {
    if (typeof principal.claims[grantClaim] !== 'string') return undefined;
    const target = targetOf(method, params);
    if (target === undefined) return undefined;
    const covering = compiled.filter((s) => s.matches.some((m) => m(target))).map((s) => s.name);
    if (covering.some((name) => principal.scopes.includes(name))) return undefined;
    const held = principal.scopes.filter((s) => Object.hasOwn(scopes, s));
    return [...new Set([...held, ...covering.slice(0, 1)])];
  };
}
