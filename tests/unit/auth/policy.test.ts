import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  decide,
  decideVisibility,
  isVisible,
  narrowInputSchema,
  rateLimitFor,
  rulesApplying,
  serversFor,
} from '../../../auth/policy.ts';
import type { CompiledPolicy, PolicyTarget } from '../../../auth/policy.ts';
import { loadConfig, parseConfig } from '../../../config/load.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function policyOf(yaml: string): CompiledPolicy {
  return compilePolicy(parseConfig(yaml, 'policy.yaml', '/srv'));
}

const fleet = `
servers:
  - { id: mcp1, transport: stdio, command: node }
  - { id: mcp2, transport: stdio, command: node }
  - { id: docker, transport: stdio, command: node }
groups:
  players: [alice, bob]
  ops: [carol]
agents:
  alice: {}
  bob: {}
  carol: {}
  dave: {}
policy:
  rules:
`;

const tool = (server: string, name: string, args?: Record<string, unknown>): PolicyTarget => ({
  kind: 'tool',
  server,
  name,
  ...(args === undefined ? {} : { arguments: args }),
});

describe('decide', () => {
  it('denies by default when no rule allows the name', () => {
    const policy = policyOf(
      fleet + '    - { id: r, subjects: [alice], servers: [mcp1], allow: [mcp1_echo] }',
    );
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_add'))).toEqual({
      allowed: false,
      rule: 'default-deny',
      effect: 'deny',
      code: 'ERR_POLICY_DENIED',
      reason: 'no rule allows tool "mcp1_add" on server "mcp1" for agent "alice"',
    });
    expect(decide(policy, { agent: 'bob' }, tool('mcp1', 'mcp1_echo')).rule).toBe('default-deny');
  });

  it('denies everything under an empty policy', () => {
    const policy = policyOf(fleet + '    []');
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_echo')).allowed).toBe(false);
  });

  it('allows a name matched by an allow glob and names the allowing rule', () => {
    const policy = policyOf(
      fleet + "    - { id: alice-mcp1, subjects: [alice], servers: [mcp1], allow: ['mcp1_*'] }",
    );
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_get-sum'))).toEqual({
      allowed: true,
      rule: 'alice-mcp1',
      effect: 'allow',
      reason: 'tool "mcp1_get-sum" is allowed by rule "alice-mcp1" (allow "mcp1_*")',
    });
  });

  it('lets a deny in any applicable rule beat an allow, and names the denying rule', () => {
    const policy = policyOf(
      fleet +
        "    - { id: allow-all, subjects: ['*'], servers: [mcp1], allow: ['mcp1_*'] }\n" +
        "    - { id: no-triggers, subjects: ['group:players'], servers: [mcp1], deny: ['mcp1_trigger-*'] }",
    );
    const denied = decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_trigger-long-running-operation'));
    expect(denied).toMatchObject({
      allowed: false,
      rule: 'no-triggers',
      effect: 'deny',
      code: 'ERR_POLICY_DENIED',
    });
    expect(denied.reason).toContain('deny "mcp1_trigger-*"');
    // carol is not a player: the deny rule does not apply to her.
    expect(decide(policy, { agent: 'carol' }, tool('mcp1', 'mcp1_trigger-long-running-operation')).rule).toBe(
      'allow-all',
    );
  });

  it('lets a deny in the same rule beat its own allow', () => {
    const policy = policyOf(
      fleet + "    - { id: r, subjects: [alice], servers: [mcp1], allow: ['*'], deny: ['mcp1_get-env'] }",
    );
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_get-env')).allowed).toBe(false);
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp1_echo')).allowed).toBe(true);
  });

  it('applies a rule only to its servers', () => {
    const policy = policyOf(
      fleet +
        "    - { id: r, subjects: [alice], servers: [mcp1], allow: ['*'] }\n" +
        "    - { id: d, subjects: [alice], servers: [mcp2], deny: ['*'] }",
    );
    expect(decide(policy, { agent: 'alice' }, tool('mcp1', 'mcp2_echo')).allowed).toBe(true);
    expect(decide(policy, { agent: 'alice' }, tool('mcp2', 'mcp2_echo')).rule).toBe('d');
    expect(decide(policy, { agent: 'alice' }, tool('docker', 'docker_run')).rule).toBe('default-deny');
  });

  it('matches groups from the config and from the principal', () => {
    const policy = policyOf(
      fleet + "    - { id: ops, subjects: ['group:ops'], servers: [docker], allow: ['docker_*'] }",
    );
    expect(decide(policy, { agent: 'carol' }, tool('docker', 'docker_run')).allowed).toBe(true);
    expect(decide(policy, { agent: 'dave' }, tool('docker', 'docker_run')).allowed).toBe(false);
    expect(decide(policy, { agent: 'dave', groups: ['ops'] }, tool('docker', 'docker_run')).allowed).toBe(
      true,
    );
  });

  it("matches every agent with the '*' subject and every server with '*'", () => {
    const policy = policyOf(fleet + "    - { id: all, subjects: ['*'], servers: ['*'], allow: ['*_echo'] }");
    expect(decide(policy, { agent: 'someone-new' }, tool('mcp2', 'mcp2_echo')).allowed).toBe(true);
    expect(decide(policy, { agent: 'someone-new' }, tool('mcp2', 'mcp2_run')).allowed).toBe(false);
  });

  it('supports brace, star and exact globs over qualified names', () => {
    const policy = policyOf(
      fleet +
        "    - { id: g, subjects: [alice], servers: [mcp1], allow: ['mcp1_{echo,get-sum}', 'mcp1_list'] }",
    );
    const allowed = (name: string) => decide(policy, { agent: 'alice' }, tool('mcp1', name)).allowed;
    expect([
      allowed('mcp1_echo'),
      allowed('mcp1_get-sum'),
      allowed('mcp1_list'),
      allowed('mcp1_lists'),
    ]).toEqual([true, true, true, false]);
  });

  it('matches resource URIs, where * stops at "/" and ** does not', () => {
    const policy = policyOf(
      fleet +
        "    - { id: res, subjects: [alice], servers: [mcp1], allow: ['test://static/**', 'file:///tmp/*'] }",
    );
    const res = (name: string) =>
      decide(policy, { agent: 'alice' }, { kind: 'resource', server: 'mcp1', name });
    expect(res('test://static/resource/1').allowed).toBe(true);
    expect(res('file:///tmp/a').allowed).toBe(true);
    expect(res('file:///tmp/a/b').allowed).toBe(false);
  });
});

describe('argument constraints', () => {
  const constrained = policyOf(
    fleet +
      `    - id: docker-run
      subjects: [alice]
      servers: [docker]
      allow: ['docker_*']
      arguments:
        docker_run:
          image: { enum: [alpine, busybox] }
          command: { maxLength: 10, pattern: '^[a-z ]+$' }
          cpus: { minimum: 1, maximum: 4 }
        docker_pin:
          version: { const: 3 }
    - id: docker-log
      subjects: ['group:players']
      servers: [docker]
      allow: [docker_run]
      arguments:
        docker_run:
          cpus: { maximum: 2 }
`,
  );
  const run = (args: Record<string, unknown> | undefined) =>
    decide(constrained, { agent: 'alice' }, tool('docker', 'docker_run', args));
  const good = { image: 'alpine', command: 'ls', cpus: 2 };

  it('allows arguments inside every constraint', () => {
    expect(run(good)).toMatchObject({ allowed: true, rule: 'docker-run' });
  });

  it('rejects a value outside an enum, naming the rule and the allowed values', () => {
    expect(run({ ...good, image: 'ubuntu' })).toEqual({
      allowed: false,
      rule: 'docker-run',
      effect: 'deny',
      code: 'ERR_POLICY_ARGUMENTS',
      reason: 'argument "image" must be one of "alpine", "busybox"',
    });
  });

  it('rejects a string that breaks a pattern or maxLength, or is not a string', () => {
    expect(run({ ...good, command: 'rm -rf /' }).reason).toBe('argument "command" must match /^[a-z ]+$/');
    expect(run({ ...good, command: 'ls ls ls ls' }).reason).toBe(
      'argument "command" must be at most 10 characters long',
    );
    expect(run({ ...good, command: 42 }).reason).toBe('argument "command" must be a string');
  });

  it('rejects numbers out of range, and intersects constraints of every allowing rule', () => {
    expect(run({ ...good, cpus: 0 }).reason).toBe('argument "cpus" must be >= 1');
    expect(run({ ...good, cpus: 5 }).reason).toBe('argument "cpus" must be <= 4');
    // 3 passes docker-run (max 4) but not docker-log (max 2), which also allows docker_run for players.
    expect(run({ ...good, cpus: 3 })).toMatchObject({ allowed: false, rule: 'docker-log' });
    expect(run({ ...good, cpus: '2' }).reason).toBe('argument "cpus" must be a number');
  });

  it('rejects a value other than a const', () => {
    const pin = (version: unknown) =>
      decide(constrained, { agent: 'alice' }, tool('docker', 'docker_pin', { version }));
    expect(pin(3).allowed).toBe(true);
    expect(pin(4).reason).toBe('argument "version" must be 3');
  });

  it('fails closed when a constrained argument is missing, including when no arguments are sent', () => {
    expect(run({ image: 'alpine', command: 'ls' }).reason).toBe('argument "cpus" is required by policy');
    expect(run(undefined)).toMatchObject({ allowed: false, code: 'ERR_POLICY_ARGUMENTS' });
  });

  it('applies argument constraints to tools only, not to a prompt with the same name', () => {
    const prompt = decide(
      constrained,
      { agent: 'alice' },
      { kind: 'prompt', server: 'docker', name: 'docker_run' },
    );
    expect(prompt).toMatchObject({ allowed: true, rule: 'docker-run' });
  });

  it('ignores arguments for visibility', () => {
    expect(
      isVisible(constrained, { agent: 'alice' }, { kind: 'tool', server: 'docker', name: 'docker_run' }),
    ).toBe(true);
    expect(
      decideVisibility(
        constrained,
        { agent: 'alice' },
        { kind: 'tool', server: 'docker', name: 'docker_run' },
      ),
    ).toMatchObject({ allowed: true, rule: 'docker-run' });
    expect(
      isVisible(constrained, { agent: 'bob' }, { kind: 'tool', server: 'docker', name: 'docker_ps' }),
    ).toBe(false);
  });

  it('narrows the advertised input schema without changing the original', () => {
    const original = {
      type: 'object',
      properties: {
        image: { type: 'string', enum: ['alpine', 'ubuntu', 'debian'] },
        command: { type: 'string', maxLength: 100 },
        cpus: { type: 'number', maximum: 8 },
      },
      required: ['image'],
    };
    const snapshot = structuredClone(original);
    const narrowed = narrowInputSchema(constrained, { agent: 'alice' }, 'docker_run', original);
    expect(original).toEqual(snapshot);
    expect(narrowed).toEqual({
      type: 'object',
      properties: {
        image: { type: 'string', enum: ['alpine'] },
        command: { type: 'string', maxLength: 10, pattern: '^[a-z ]+$' },
        cpus: { type: 'number', minimum: 1, maximum: 2 },
      },
      required: ['image', 'command', 'cpus'],
    });
  });

  it('returns the schema unchanged for a principal or tool without constraints', () => {
    const schema = { type: 'object', properties: { x: { type: 'string' } } };
    expect(narrowInputSchema(constrained, { agent: 'carol' }, 'docker_run', schema)).toBe(schema);
    expect(narrowInputSchema(constrained, { agent: 'alice' }, 'docker_ps', schema)).toBe(schema);
  });

  it('puts a second, different pattern into allOf instead of widening', () => {
    const policy = policyOf(
      fleet +
        `    - { id: a, subjects: [alice], servers: [mcp1], allow: [mcp1_echo], arguments: { mcp1_echo: { message: { pattern: '^a' } } } }
    - { id: b, subjects: ['*'], servers: [mcp1], allow: [mcp1_echo], arguments: { mcp1_echo: { message: { pattern: 'z$' } } } }`,
    );
    const narrowed = narrowInputSchema(policy, { agent: 'alice' }, 'mcp1_echo', {
      type: 'object',
      properties: {},
    });
    expect(narrowed).toEqual({
      type: 'object',
      properties: { message: { pattern: '^a', allOf: [{ pattern: 'z$' }] } },
      required: ['message'],
    });
  });
});

describe('rate limits and servers', () => {
  it('returns the rate limit of the first applicable rule that has one', () => {
    const policy = policyOf(
      fleet +
        "    - { id: a, subjects: [alice], servers: [mcp1], allow: ['*'], rateLimit: { requestsPerMinute: 120, burst: 20 } }\n" +
        "    - { id: p, subjects: ['group:players'], servers: [mcp2], allow: ['*'], rateLimit: { requestsPerMinute: 10 } }",
    );
    expect(rateLimitFor(policy, { agent: 'alice' })).toEqual({ requestsPerMinute: 120, burst: 20 });
    expect(rateLimitFor(policy, { agent: 'bob' })).toEqual({ requestsPerMinute: 10, burst: 10 });
    expect(rateLimitFor(policy, { agent: 'carol' })).toBeUndefined();
  });

  it('lists the servers a principal may use, in config order', () => {
    const policy = policyOf(
      fleet +
        "    - { id: a, subjects: [alice], servers: [docker, mcp1], allow: ['*'] }\n" +
        "    - { id: d, subjects: [bob], servers: [mcp2], deny: ['*'] }\n" +
        "    - { id: all, subjects: [carol], servers: ['*'], allow: ['*_echo'] }",
    );
    expect(serversFor(policy, { agent: 'alice' })).toEqual(['mcp1', 'docker']);
    expect(serversFor(policy, { agent: 'bob' })).toEqual([]);
    expect(serversFor(policy, { agent: 'carol' })).toEqual(['mcp1', 'mcp2', 'docker']);
  });
});

describe('the example config', () => {
  it('gives agent_name1 mcp1 and mcp3 and agent_name2 mcp2 and mcp3, as in the seed (and both the docker runner)', async () => {
    const policy = compilePolicy(await loadConfig(path.join(repoRoot, 'mcpcp.example.yaml')));
    expect(serversFor(policy, { agent: 'agent_name1' })).toEqual(['mcp1', 'mcp3', 'docker-runner']);
    expect(serversFor(policy, { agent: 'agent_name2' })).toEqual(['mcp2', 'mcp3', 'docker-runner']);
    expect(serversFor(policy, { agent: 'stranger' })).toEqual([]);
    expect(rulesApplying(policy, { agent: 'agent_name1' }, 'mcp3')).toEqual([
      { id: 'players-memory', allow: ['mcp3_*'], deny: ['mcp3_delete_*'] },
    ]);
    expect(decide(policy, { agent: 'agent_name1' }, tool('mcp3', 'mcp3_delete_entities')).rule).toBe(
      'players-memory',
    );
    expect(
      decide(policy, { agent: 'agent_name1' }, tool('mcp1', 'mcp1_echo', { message: 'hi' })).allowed,
    ).toBe(true);
  });
});
