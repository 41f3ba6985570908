// Who may use what: a per-agent summary of a config's policy, for `mcpcp config check` and the OAuth consent page.
// Pure over the frozen config; it must not print or decide anything the policy module does not.
import { compilePolicy, groupsOfPrincipal, rateLimitFor, rulesApplying, serversFor } from './policy.ts';
import type { McpcpConfig } from '../config/schema.ts';

export interface AgentAccess {
  /** Agent name, or '*' for an agent the config does not name. */
  readonly agent: string;
  readonly groups: readonly string[];
  /** Servers on which some rule allows something. */
  readonly servers: readonly string[];
  /** Every rule that applies to the agent, per server (including deny-only rules). */
  readonly rules: readonly {
    server: string;
    rule: string;
    allow: readonly string[];
    deny: readonly string[];
    arguments: readonly string[];
  }[];
  readonly rateLimit: { requestsPerMinute: number; burst: number } | undefined;
}

/** Agents the config knows: declared agents, then group members, then agents named in rule subjects. */
export function agentsOf(config: McpcpConfig): string[] {
  const names = new Set<string>(Object.keys(config.agents));
  for (const members of Object.values(config.groups)) for (const m of members) names.add(m);
  for (const rule of config.policy.rules) {
    for (const s of rule.subjects) if (s !== '*' && !s.startsWith('group:')) names.add(s);
  }
  return [...names];
}

export function summariseAccess(config: McpcpConfig): AgentAccess[] {
  const policy = compilePolicy(config);
  const argumentsOf = new Map(
    config.policy.rules.map((rule) => [
      rule.id,
      Object.entries(rule.arguments).map(([tool, args]) => `${tool}(${Object.keys(args).join(', ')})`),
    ]),
  );
  return [...agentsOf(config), '*'].map((agent) => {
    const principal = { agent };
    return {
      agent,
      groups: groupsOfPrincipal(policy, principal),
      servers: serversFor(policy, principal),
      rules: config.servers.flatMap((server) =>
        rulesApplying(policy, principal, server.id).map((r) => ({
          server: server.id,
          rule: r.id,
          allow: r.allow,
          deny: r.deny,
          arguments: argumentsOf.get(r.id) ?? [],
        })),
      ),
      rateLimit: rateLimitFor(policy, principal),
    };
  });
}
