// The gateway's seam to auth/policy.ts: one place that knows the policy module's function names.
import {
  decide as decidePolicy,
  isVisible as isVisiblePolicy,
  narrowInputSchema as narrowPolicy,
  type CompiledPolicy,
  type Decision,
} from '../../auth/policy.ts';
import type { Principal } from './types.ts';

export type { CompiledPolicy, Decision };
export type Kind = 'tool' | 'prompt' | 'resource';

/** Groups may come from the (proxy-signed) token's `groups` claim, besides config.groups. */
function subject(principal: Principal): { agent: string; groups?: string[] } {
  const groups = principal.claims.groups;
  return Array.isArray(groups)
    ? { agent: principal.agent, groups: groups.filter((g): g is string => typeof g === 'string') }
    : { agent: principal.agent };
}

export function visible(
  policy: CompiledPolicy,
  principal: Principal,
  kind: Kind,
  server: string,
  name: string,
): boolean {
  return isVisiblePolicy(policy, subject(principal), { kind, server, name });
}

export function decideCall(
  policy: CompiledPolicy,
  principal: Principal,
  kind: Kind,
  server: string,
  name: string,
  args?: Record<string, unknown>,
): Decision {
  return decidePolicy(policy, subject(principal), {
    kind,
    server,
    name,
    ...(args === undefined ? {} : { arguments: args }),
  });
}

export function narrow<S extends object>(
  policy: CompiledPolicy,
  principal: Principal,
  name: string,
  schema: S,
): S {
  return narrowPolicy(policy, subject(principal), name, schema);
}
