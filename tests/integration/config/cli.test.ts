// `mcpcp config check` and `mcpcp policy explain` as a user runs them: a real process, real files, exit codes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repoRoot, 'launcher/bin/mcpcp.ts');
const example = path.join(repoRoot, 'mcpcp.example.yaml');
let tmp: string;

function mcpcp(args: string[], cwd = repoRoot) {
  return execa(process.execPath, [bin, ...args], {
    cwd,
    reject: false,
    timeout: 20_000,
    extendEnv: false,
    env: {},
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mcpcp-config-cli-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('mcpcp config check', () => {
  it('validates the example and summarises servers and per-agent access', async () => {
    const result = await mcpcp(['config', 'check', example]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('mcpcp.example.yaml: valid');
    expect(result.stdout).toMatch(/mcp2 +http +namespace mcp2 +http:\/\/127\.0\.0\.1:9005\/mcp/);
    expect(result.stdout).toContain('mcp1 [agent1-mcp1]: allow mcp1_*; deny mcp1_trigger-*, mcp1_get-env');
    expect(result.stdout).toContain('* (any other agent)\n    no access (default deny)');
    expect(result.stderr).toBe('');
  });

  it('warns, still valid, about an undeclared agent and globs that can never match their servers', async () => {
    const file = path.join(tmp, 'suspicious.yaml');
    await writeFile(
      file,
      [
        'servers:',
        '  - { id: files, transport: stdio, command: node }',
        '  - { id: web, namespace: w, transport: stdio, command: node }',
        'agents: { alice: {} }',
        'policy:',
        '  rules:',
        '    - id: ok',
        "      subjects: [alice, '*']",
        '      servers: [files]',
        "      allow: ['files_*', 'file://**', '*_read']",
        '    - id: typos',
        '      subjects: [alcie]',
        '      servers: [files, web]',
        "      allow: ['w_fetch', 'web_fetch']",
        "      deny: ['file_delete*']",
        '',
      ].join('\n'),
    );
    const result = await mcpcp(['config', 'check', file]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('suspicious.yaml: valid');
    const warnings = result.stderr.trim().split('\n');
    expect(warnings).toEqual([
      expect.stringContaining('policy.rules[1].subjects[0]: warning: rule "typos" names agent "alcie"'),
      expect.stringContaining(
        'policy.rules[1].allow[1]: warning: allow glob "web_fetch" of rule "typos" can never match',
      ),
      expect.stringMatching(
        /policy\.rules\[1\]\.deny\[0\]: warning: .*"file_delete\*".* is not denied by it/,
      ),
    ]);
    const json = JSON.parse((await mcpcp(['config', 'check', file, '--json'])).stdout) as {
      warnings: { path: string }[];
    };
    expect(json.warnings.map((w) => w.path)).toEqual([
      'policy.rules[1].subjects[0]',
      'policy.rules[1].allow[1]',
      'policy.rules[1].deny[0]',
    ]);
  });

  it('prints the summary as JSON with --json', async () => {
    const result = await mcpcp(['config', 'check', example, '--json']);
    expect(result.exitCode).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      valid: boolean;
      proxy: { resource: string };
      servers: { id: string; transport: string; namespace: string }[];
      agents: { agent: string; servers: string[] }[];
    };
    expect(summary.valid).toBe(true);
    expect(summary.proxy.resource).toBe('http://127.0.0.1:9003/mcp');
    expect(summary.servers.map((s) => `${s.id}:${s.transport}:${s.namespace}`)).toEqual([
      'mcp1:stdio:mcp1',
      'mcp2:http:mcp2',
      'mcp3:stdio:mcp3',
      'docker-runner:http:docker-runner',
    ]);
    expect(summary.agents.map((a) => [a.agent, a.servers])).toEqual([
      ['agent_name1', ['mcp1', 'mcp3', 'docker-runner']],
      ['agent_name2', ['mcp2', 'mcp3', 'docker-runner']],
      ['*', []],
    ]);
  });

  it('exits 2 with file:line:col on an invalid config', async () => {
    const file = path.join(tmp, 'bad.yaml');
    await writeFile(file, 'servers:\n  - id: a\n    transport: stdio\n    command: node\n    bogus: 1\n');
    const result = await mcpcp(['config', 'check', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${file}:5:5: servers[0].bogus: unknown key "bogus"`);
    expect(result.stderr).toContain('ERR_CONFIG_INVALID');
    expect(result.stdout).toBe('');
  });

  it('exits 2 on invalid YAML', async () => {
    const file = path.join(tmp, 'broken.yaml');
    await writeFile(file, 'servers: [\n');
    const result = await mcpcp(['config', 'check', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('ERR_CONFIG_YAML');
  });

  it('says which file it looked for when ./mcpcp.yaml is missing', async () => {
    const result = await mcpcp(['config', 'check'], tmp);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(path.join(tmp, 'mcpcp.yaml'));
    expect(result.stderr).toContain('ERR_CONFIG_NOT_FOUND');
  });
});

describe('mcpcp policy explain', () => {
  const explain = (...args: string[]) => mcpcp(['policy', 'explain', '--config', example, ...args]);

  it('explains an allowed tool, finding the server by namespace, and exits 0', async () => {
    const result = await explain('--agent', 'agent_name1', '--tool', 'mcp3_read_graph');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('ALLOWED: tool mcp3_read_graph on server mcp3 for agent agent_name1');
    expect(result.stdout).toContain('rule:   players-memory (allow)');
    // agent_name1 is in the config's players group, which the deciding rule names.
    expect(result.stdout).toContain('(groups: players)');
  });

  it('takes the agent and the name as positional arguments too (mcpcp policy explain AGENT NAME)', async () => {
    const positional = await explain('agent_name1', 'mcp3_read_graph', '--json');
    const flagged = await explain('--agent', 'agent_name1', '--tool', 'mcp3_read_graph', '--json');
    expect(positional.exitCode).toBe(0);
    expect(positional.stdout).toBe(flagged.stdout);
    const missing = await explain('agent_name1');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('mcpcp policy explain AGENT NAME');
    const twice = await explain('agent_name1', 'mcp3_read_graph', '--agent', 'someone_else');
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toContain('give it once');
  });

  it('says a failed argument constraint is one, not a deny rule', async () => {
    const result = await explain(
      '--agent',
      'agent_name1',
      '--tool',
      'mcp1_get-sum',
      '--args',
      '{"a":1,"b":5000}',
    );
    expect(result.stdout).toContain('DENIED');
    expect(result.stdout).toContain('rule:   agent1-mcp1 (allow, but an argument constraint fails)');
  });

  it('names the denying rule when a deny glob wins, and exits 0 unless --exit-code', async () => {
    const result = await explain('--agent', 'agent_name1', '--tool', 'mcp1_trigger-sampling-request');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('DENIED');
    expect(result.stdout).toContain('rule:   agent1-mcp1 (deny)');
    const strict = await explain(
      '--agent',
      'agent_name1',
      '--tool',
      'mcp1_trigger-sampling-request',
      '--exit-code',
    );
    expect(strict.exitCode).toBe(1);
  });

  it('checks argument constraints given with --args and reports the decision as JSON', async () => {
    const result = await explain(
      '--agent',
      'agent_name1',
      '--tool',
      'mcp1_get-sum',
      '--args',
      '{"a":1,"b":5000}',
      '--json',
    );
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout) as {
      server: string;
      groups: string[];
      decision: Record<string, unknown>;
    };
    expect(out.server).toBe('mcp1');
    expect(out.groups).toEqual(['players']);
    expect(out.decision).toEqual({
      allowed: false,
      rule: 'agent1-mcp1',
      effect: 'deny',
      code: 'ERR_POLICY_ARGUMENTS',
      reason: 'argument "b" must be <= 1000',
    });
  });

  it('reports default deny for an agent without a rule', async () => {
    const result = await explain('--agent', 'stranger', '--tool', 'mcp2_echo', '--json');
    const out = JSON.parse(result.stdout) as { decision: { rule: string; allowed: boolean } };
    expect(out.decision).toMatchObject({ allowed: false, rule: 'default-deny' });
  });

  it('exits 2 on malformed --args or a name no namespace prefixes', async () => {
    expect((await explain('--agent', 'a', '--tool', 'mcp1_echo', '--args', '{nope')).exitCode).toBe(2);
    const unknown = await explain('--agent', 'a', '--tool', 'other_echo');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('pass --server');
  });
});
