// Policy decisions: which agent may see and call which tool, prompt or resource, and which rule decided.
// Pure functions of the frozen config and plain principals; it must not do I/O, read the clock or count
// requests (proxy/rate-limit.ts counts; this only says which limit applies).
//
// Semantics: a rule applies to a principal and server when one of its subjects matches the principal
// (its agent name, "group:<g>" with the agent a member per config.groups or per principal.groups, or
// "*") and its servers include the server (or "*"). A name is allowed iff some applicable rule's allow
// glob matches it and no applicable rule's deny glob does (deny beats allow; default deny).
import picomatch from 'picomatch';
import type { McpcpConfig, RateLimit } from '../config/schema.ts';
import { checkArgument, compileConstraint, mergeConstraint } from './policy-arguments.ts';
import type { CompiledConstraint } from './policy-arguments.ts';

export type PolicyKind = 'tool' | 'prompt' | 'resource';

/** Who asks. A verified `Principal` fits; `groups` may come from token claims. */
export interface PolicyPrincipal {
  readonly agent: string;
  readonly groups?: readonly string[] | undefined;
}

export interface PolicyTarget {
  readonly kind: PolicyKind;
  /** Server id. */
  readonly server: string;
  /** Qualified name for tools and prompts, URI for resources. */
  readonly name: string;
  readonly arguments?: Readonly<Record<string, unknown>> | undefined;
}

export interface Decision {
  readonly allowed: boolean;
  /** Id of the deciding rule, or 'default-deny'. */
  readonly rule: string;
  readonly effect: 'allow' | 'deny';
  readonly reason: string;
  readonly code?: 'ERR_POLICY_DENIED' | 'ERR_POLICY_ARGUMENTS';
}

interface Glob {
  readonly glob: string;
  readonly test: (name: string) => boolean;
}

interface CompiledRule {
  readonly id: string;
  readonly anySubject: boolean;
  readonly agents: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  /** undefined = every server ("*"). */
  readonly servers: ReadonlySet<string> | undefined;
  readonly allow: readonly Glob[];
  readonly deny: readonly Glob[];
  readonly arguments: ReadonlyMap<string, ReadonlyMap<string, CompiledConstraint>>;
  readonly rateLimit: RateLimit | undefined;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  /** Server ids in config order. */
  readonly servers: readonly string[];
  /** Agent → groups it belongs to per config.groups. */
  readonly groupsOf: ReadonlyMap<string, readonly string[]>;
}

/** What one rule lets a principal do on one server (for summaries and explanations). */
export interface RuleSummary {
  readonly id: string;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

const globOptions = { dot: true } as const;

export function compilePolicy(config: McpcpConfig): CompiledPolicy {
  const groupsOf = new Map<string, string[]>();
  for (const [group, members] of Object.entries(config.groups)) {
    for (const member of members) groupsOf.set(member, [...(groupsOf.get(member) ?? []), group]);
  }
  const rules = config.policy.rules.map((rule): CompiledRule => {
    const subjectGroups = rule.subjects.filter((s) => s.startsWith('group:')).map((s) => s.slice(6));
    return {
      id: rule.id,
      anySubject: rule.subjects.includes('*'),
      agents: new Set(rule.subjects.filter((s) => s !== '*' && !s.startsWith('group:'))),
      groups: new Set(subjectGroups),
      servers: rule.servers.includes('*') ? undefined : new Set(rule.servers),
      allow: rule.allow.map(compileGlob),
      deny: rule.deny.map(compileGlob),
      arguments: new Map(
        Object.entries(rule.arguments).map(([tool, args]) => [
          tool,
          new Map(Object.entries(args).map(([arg, c]) => [arg, compileConstraint(c)])),
        ]),
      ),
      rateLimit: rule.rateLimit,
    };
  });
  return Object.freeze({
    rules: Object.freeze(rules),
    servers: Object.freeze(config.servers.map((s) => s.id)),
    groupsOf,
  });
}

function compileGlob(glob: string): Glob {
  return { glob, test: picomatch(glob, globOptions) };
}

function appliesTo(policy: CompiledPolicy, rule: CompiledRule, principal: PolicyPrincipal): boolean {
  if (rule.anySubject || rule.agents.has(principal.agent)) return true;
  if (rule.groups.size === 0) return false;
  const groups = [...(policy.groupsOf.get(principal.agent) ?? []), ...(principal.groups ?? [])];
  return groups.some((g) => rule.groups.has(g));
}

/**
 * Which rules apply depends only on the policy, the subject and the server, so it is worked out once per
 * combination and kept with the policy (a reload compiles a new one). Bounded: past the cap it starts over.
 */
const applicable = new WeakMap<CompiledPolicy, Map<string, readonly CompiledRule[]>>();
const applicableCap = 10_000;

function rulesFor(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  server?: string,
): readonly CompiledRule[] {
  let known = applicable.get(policy);
  if (known === undefined) applicable.set(policy, (known = new Map<string, readonly CompiledRule[]>()));
  const groups = principal.groups;
  const key =
    groups === undefined || groups.length === 0
      ? `${server ?? ''}\u0000${principal.agent}`
      : JSON.stringify([server ?? null, principal.agent, groups]);
  let rules = known.get(key);
  if (rules === undefined) {
    if (known.size >= applicableCap) known.clear();
    rules = Object.freeze(
      policy.rules.filter(
        (rule) =>
          appliesTo(policy, rule, principal) &&
          (server === undefined || rule.servers === undefined || rule.servers.has(server)),
      ),
    );
    known.set(key, rules);
  }
  return rules;
}

/** Decides a request, including a tool call's arguments (absent arguments count as `{}`: fail closed). */
export function decide(policy: CompiledPolicy, principal: PolicyPrincipal, target: PolicyTarget): Decision {
  return evaluate(policy, principal, target, target.kind === 'tool');
}

/** Decides visibility: the same rules as `decide`, arguments ignored. Explanations without arguments use it. */
export function decideVisibility(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  target: Omit<PolicyTarget, 'arguments'>,
): Decision {
  return evaluate(policy, principal, target, false);
}

/** Whether a name appears in the principal's lists. */
export function isVisible(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  target: Omit<PolicyTarget, 'arguments'>,
): boolean {
  return evaluate(policy, principal, target, false).allowed;
}

/** What the globs alone decide for one name under one set of applicable rules, and who allowed it. */
interface Verdict {
  decision: Decision;
  /** The allowing rules, first one first (their argument constraints are checked per call). */
  allowing: readonly CompiledRule[];
}

/**
 * Verdicts depend only on the applicable rules (one frozen array per policy, subject and server, see
 * `rulesFor`) and the name, so each is worked out once; only argument constraints are checked per call.
 */
const verdicts = new WeakMap<readonly CompiledRule[], Map<string, Verdict>>();

function verdictFor(
  rules: readonly CompiledRule[],
  principal: PolicyPrincipal,
  target: Omit<PolicyTarget, 'arguments'>,
): Verdict {
  const { kind, server, name } = target;
  let known = verdicts.get(rules);
  if (known === undefined) verdicts.set(rules, (known = new Map<string, Verdict>()));
  const key = `${kind}:${name}`;
  let verdict = known.get(key);
  if (verdict !== undefined) return verdict;
  const what = `${kind} "${name}"`;
  let decision: Decision | undefined;
  for (const rule of rules) {
    const hit = rule.deny.find((g) => g.test(name));
    if (hit !== undefined) {
      decision = deny(
        rule.id,
        'ERR_POLICY_DENIED',
        `${what} is denied by rule "${rule.id}" (deny "${hit.glob}")`,
      );
      break;
    }
  }
  const allowing = decision === undefined ? rules.filter((rule) => rule.allow.some((g) => g.test(name))) : [];
  const first = allowing[0];
  if (decision === undefined && first === undefined) {
    decision = deny(
      'default-deny',
      'ERR_POLICY_DENIED',
      `no rule allows ${what} on server "${server}" for agent "${principal.agent}"`,
    );
  }
  if (decision === undefined && first !== undefined) {
    const glob = first.allow.find((g) => g.test(name))?.glob ?? '';
    decision = {
      allowed: true,
      rule: first.id,
      effect: 'allow',
      reason: `${what} is allowed by rule "${first.id}" (allow "${glob}")`,
    };
  }
  verdict = Object.freeze({ decision: Object.freeze(decision!), allowing: Object.freeze(allowing) });
  if (known.size >= applicableCap) known.clear();
  known.set(key, verdict);
  return verdict;
}

function evaluate(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  target: PolicyTarget,
  checkArguments: boolean,
): Decision {
  const { decision, allowing } = verdictFor(rulesFor(policy, principal, target.server), principal, target);
  if (!checkArguments || !decision.allowed) return decision;
  const args = target.arguments ?? {};
  for (const rule of allowing) {
    for (const [arg, constraint] of rule.arguments.get(target.name) ?? []) {
      const problem = checkArgument(arg, Object.hasOwn(args, arg), args[arg], constraint);
      if (problem !== undefined) return deny(rule.id, 'ERR_POLICY_ARGUMENTS', problem);
    }
  }
  return decision;
}

function deny(rule: string, code: NonNullable<Decision['code']>, reason: string): Decision {
  return { allowed: false, rule, effect: 'deny', reason, code };
}

/**
 * The tool's input schema as this principal should see it: every argument constraint of the rules that
 * allow the tool merged into `properties[arg]` (never widening) and the argument made required. Returns a
 * narrowed copy, or the input itself when nothing constrains the tool; the input is never changed. Rules
 * are matched by subject and allow glob on the qualified name (any server: qualified names are unique).
 */
export function narrowInputSchema<T extends object>(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  qualifiedName: string,
  inputSchema: T,
): T {
  const constraints = rulesFor(policy, principal)
    .filter((rule) => rule.allow.some((g) => g.test(qualifiedName)))
    .flatMap((rule) => [...(rule.arguments.get(qualifiedName) ?? [])]);
  if (constraints.length === 0) return inputSchema;
  const schema = structuredClone(inputSchema) as Record<string, unknown>;
  const properties = {
    ...((schema.properties as Record<string, Record<string, unknown>> | undefined) ?? {}),
  };
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  for (const [arg, constraint] of constraints) {
    properties[arg] = mergeConstraint(properties[arg] ?? {}, constraint.source);
    required.add(arg);
  }
  schema.properties = properties;
  schema.required = [...required];
  return schema as T;
}

/** The rate limit of the first rule (in file order) that applies to the principal and has one. */
export function rateLimitFor(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
): { requestsPerMinute: number; burst: number } | undefined {
  const limit = rulesFor(policy, principal).find((rule) => rule.rateLimit !== undefined)?.rateLimit;
  return limit === undefined ? undefined : { requestsPerMinute: limit.requestsPerMinute, burst: limit.burst };
}

/** Server ids (config order) on which some applicable rule allows at least one glob. */
export function serversFor(policy: CompiledPolicy, principal: PolicyPrincipal): string[] {
  const rules = rulesFor(policy, principal).filter((rule) => rule.allow.length > 0);
  return policy.servers.filter((server) =>
    rules.some((rule) => rule.servers === undefined || rule.servers.has(server)),
  );
}

/** The rules that apply to a principal on a server, with their globs (for `config check` and `policy explain`). */
export function rulesApplying(
  policy: CompiledPolicy,
  principal: PolicyPrincipal,
  server: string,
): RuleSummary[] {
  return rulesFor(policy, principal, server).map((rule) => ({
    id: rule.id,
    allow: rule.allow.map((g) => g.glob),
    deny: rule.deny.map((g) => g.glob),
  }));
}

/** Groups a principal belongs to: config.groups membership plus the principal's own groups. */
export function groupsOfPrincipal(policy: CompiledPolicy, principal: PolicyPrincipal): string[] {
  return [...new Set([...(policy.groupsOf.get(principal.agent) ?? []), ...(principal.groups ?? [])])];
}
