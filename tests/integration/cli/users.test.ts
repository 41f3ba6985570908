// `mcpcp users …` as an operator runs it: a real process, a real config file, the hash checked by the real
// verifier, comments kept, bad input refused with exit 2 and the file untouched.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../auth/password.ts';
import { loadConfig } from '../../../config/load.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repoRoot, 'launcher/bin/mcpcp.ts');
let tmp: string;
let file: string;

const initial = `# the fleet
agents:
  alice: {}   # the first agent
  bob: {}
`;

function mcpcp(args: string[], input?: string) {
  return execa(process.execPath, [bin, ...args], {
    cwd: tmp,
    reject: false,
    timeout: 30_000,
    extendEnv: false,
    env: {},
    ...(input === undefined ? {} : { input }),
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mcpcp-users-cli-'));
  file = path.join(tmp, 'mcpcp.yaml');
  await writeFile(file, initial);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('mcpcp users', () => {
  it('adds a person with a scrypt hash, never the password, keeping the comments', async () => {
    const result = await mcpcp(
      ['users', 'add', 'carol', '--agent', 'alice', '--agent', 'bob', '--password-stdin'],
      's3cret-passphrase\n',
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('added carol');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('s3cret-passphrase');
    expect(text).toContain('# the first agent');
    const config = await loadConfig(file);
    const carol = config.oauth!.users.carol!;
    expect(carol.agents).toEqual(['alice', 'bob']);
    expect(carol.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('s3cret-passphrase', carol.passwordHash)).toBe(true);
    expect(await verifyPassword('wrong', carol.passwordHash)).toBe(false);
  });

  it('refuses to replace a person without --force (exit 2, file unchanged)', async () => {
    const before = await readFile(file, 'utf8');
    const result = await mcpcp(
      ['users', 'add', 'carol', '--agent', 'alice', '--password-stdin'],
      'another-one\n',
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--force');
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('refuses an agent the config does not know, naming file, line and field (exit 2, file unchanged)', async () => {
    const before = await readFile(file, 'utf8');
    const result = await mcpcp(
      ['users', 'add', 'dave', '--agent', 'nobody', '--password-stdin'],
      'long-enough-pw\n',
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /mcpcp\.yaml:\d+:\d+: oauth\.users\.dave\.agents\[0\]: unknown agent "nobody"/,
    );
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('refuses a short password and a missing terminal', async () => {
    expect(
      (await mcpcp(['users', 'add', 'erin', '--agent', 'bob', '--password-stdin'], 'short\n')).exitCode,
    ).toBe(2);
    const noTty = await mcpcp(['users', 'add', 'erin', '--agent', 'bob'], '');
    expect(noTty.exitCode).toBe(2);
    expect(noTty.stderr).toContain('--password-stdin');
  });

  it('adds a console operator with --operator', async () => {
    const result = await mcpcp(
      ['users', 'add', 'frank', '--agent', 'bob', '--operator', '--password-stdin', '--json'],
      'operator-passphrase\n',
    );
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ user: 'frank', operator: true });
    expect((await loadConfig(file)).oauth!.users.frank!.operator).toBe(true);
    expect((await mcpcp(['users', 'list'])).stdout).toContain('frank: bob (console operator)');
  });

  it('lists and removes people', async () => {
    const listed = await mcpcp(['users', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([
      { user: 'carol', agents: ['alice', 'bob'], operator: false },
      { user: 'frank', agents: ['bob'], operator: true },
    ]);
    expect((await mcpcp(['users', 'remove', 'carol'])).exitCode).toBe(0);
    expect((await mcpcp(['users', 'remove', 'frank'])).exitCode).toBe(0);
    expect((await loadConfig(file)).oauth!.users).toEqual({});
    expect((await mcpcp(['users', 'remove', 'carol'])).exitCode).toBe(2);
  });
});
