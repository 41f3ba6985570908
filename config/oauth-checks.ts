// Cross-field checks of the `oauth` section that its own schema cannot express: every agent a user may act
// as is one the config knows, the issuer is the public URL it is served from, tokens are signed by local keys,
// and proxy replicas share one store. Run by config/schema.ts after the shape is valid; issues carry paths so
// config/load.ts can point at file:line:col. It must not read files.
import type { z } from 'zod';
import { isPostgresUrl } from '../lib/postgres/address.ts';

interface CheckedConfig {
  readonly proxy: {
    readonly publicUrl?: string | undefined;
    readonly issuer?: string | undefined;
    readonly jwksUrl?: string | undefined;
    readonly replicas?: number | undefined;
  };
  readonly agents: Readonly<Record<string, unknown>>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly policy: { readonly rules: readonly { readonly subjects: readonly string[] }[] };
  readonly oauth?:
    | {
        readonly enabled: boolean;
        readonly store: string;
        readonly users: Readonly<Record<string, { readonly agents: readonly string[] }>>;
      }
    | undefined;
}

/** Agents a config knows: declared, group members, or named in a rule's subjects. */
export function knownAgents(config: Omit<CheckedConfig, 'proxy' | 'oauth'>): Set<string> {
  const names = new Set<string>(Object.keys(config.agents));
  for (const members of Object.values(config.groups)) for (const m of members) names.add(m);
  for (const rule of config.policy.rules) {
    for (const s of rule.subjects) if (s !== '*' && !s.startsWith('group:')) names.add(s);
  }
  return names;
}

export function checkOAuth(config: CheckedConfig, ctx: z.RefinementCtx): void {
  const oauth = config.oauth;
  if (oauth === undefined || !oauth.enabled) return;
  const agents = knownAgents(config);
  for (const [user, { agents: allowed }] of Object.entries(oauth.users)) {
    allowed.forEach((agent, index) => {
      if (!agents.has(agent)) {
        ctx.addIssue({
          code: 'custom',
          path: ['oauth', 'users', user, 'agents', index],
          message: `unknown agent "${agent}" (declare it under agents, or name it in a policy rule)`,
        });
      }
    });
  }
  const { issuer, publicUrl, jwksUrl, replicas = 1 } = config.proxy;
  if (replicas > 1 && !isPostgresUrl(oauth.store)) {
    ctx.addIssue({
      code: 'custom',
      path: ['oauth', 'store'],
      message: `${replicas} proxy replicas need one shared OAuth store, or a sign-in begun on one fails on another: set oauth.store to a postgres:// address`,
    });
  }
  if (issuer !== undefined && issuer.replace(/\/+$/, '') !== (publicUrl ?? '').replace(/\/+$/, '')) {
    ctx.addIssue({
      code: 'custom',
      path: ['proxy', 'issuer'],
      message:
        'with oauth enabled the issuer is the built-in authorization server, served at publicUrl: remove proxy.issuer or set it to publicUrl',
    });
  }
  if (jwksUrl !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['proxy', 'jwksUrl'],
      message: 'with oauth enabled the proxy signs the tokens it issues with keysDir: remove proxy.jwksUrl',
    });
  }
}
