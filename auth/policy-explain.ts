// `policy explain` as a pure function: for one agent (plus extra groups a token would add), one name and optional
// arguments, the decision, the rule that made it, the groups it used and the argument constraints in force. The
// CLI (`mcpcp policy explain`) and the console's "why?" form both call it, so they cannot disagree.
// It must not print, read files or know about HTTP.
import { McpcpError } from '../lib/errors.ts';
import type { McpcpConfig } from '../config/schema.ts';
import {
  decide,
  decideVisibility,
  narrowInputSchema,
  type CompiledPolicy,
  type Decision,
  type PolicyKind,
} from './policy.ts';

export interface ExplainQuery {
  readonly agent: string;
  /** Qualified name (`<namespace>_<tool>`) for tools and prompts, a URI for resources. */
  readonly name: string;
  readonly kind?: PolicyKind | undefined;
  /** Default: the server whose namespace prefixes the name (longest first). Required for resources. */
  readonly server?: string | undefined;
  readonly arguments?: Readonly<Record<string, unknown>> | undefined;
  /** Extra groups, as a token's `groups` claim would add. */
  readonly groups?: readonly string[] | undefined;
}

export interface Explanation {
  readonly agent: string;
  readonly groups: readonly string[];
  readonly kind: PolicyKind;
  readonly server: string;
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  /** False when the tool has argument constraints and no arguments were given to check. */
  readonly argumentsChecked: boolean;
  readonly constraints: Record<string, unknown>;
  readonly decision: Decision;
}

export const policyKinds: readonly PolicyKind[] = ['tool', 'prompt', 'resource'];

/** The server whose namespace prefixes the name (longest namespace first; '' matches last). */
export function serverForName(servers: McpcpConfig['servers'], name: string): string | undefined {
  return [...servers]
    .sort((a, b) => b.namespace.length - a.namespace.length)
    .find((s) => s.namespace === '' || name.startsWith(`${s.namespace}_`))?.id;
}

/** Throws ERR_INVALID_ARGUMENT for a query that cannot be explained (unknown server, resource without server). */
export function explainPolicy(
  config: Pick<McpcpConfig, 'servers'>,
  compiled: CompiledPolicy,
  query: ExplainQuery,
): Explanation {
  const kind = query.kind ?? 'tool';
  if (!policyKinds.includes(kind))
    throw new McpcpError('ERR_INVALID_ARGUMENT', `kind must be one of ${policyKinds.join(', ')}`);
  if (query.agent === '' || query.name === '')
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'say which agent and which name');
  if (kind === 'resource' && query.server === undefined)
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      'a server is required for a resource (URIs carry no namespace)',
    );
  const server = query.server ?? serverForName(config.servers, query.name);
  if (server === undefined)
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `no server's namespace prefixes "${query.name}" (namespaces: ${config.servers.map((s) => s.namespace).join(', ') || 'none'}); name the server`,
    );
  if (!config.servers.some((s) => s.id === server))
    throw new McpcpError('ERR_INVALID_ARGUMENT', `unknown server "${server}"`);
  const extra = query.groups ?? [];
  const principal = { agent: query.agent, groups: extra };
  // What the decision used: the agent's groups per the config, plus any a token would add.
  const groups = [...new Set([...(compiled.groupsOf.get(query.agent) ?? []), ...extra])];
  const target = { kind, server, name: query.name };
  const args = query.arguments;
  const decision =
    args === undefined
      ? decideVisibility(compiled, principal, target)
      : decide(compiled, principal, { ...target, arguments: args });
  const empty: { properties: Record<string, unknown> } = { properties: {} };
  const constraints =
    kind !== 'tool' ? {} : narrowInputSchema(compiled, principal, query.name, empty).properties;
  return {
    agent: query.agent,
    groups,
    kind,
    server,
    name: query.name,
    arguments: args,
    argumentsChecked: args !== undefined || Object.keys(constraints).length === 0,
    constraints,
    decision,
  };
}
