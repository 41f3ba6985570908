// `mcpcp keys …` and `mcpcp token …` as an operator runs them: a real process, real key files, exit codes.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repoRoot, 'launcher/bin/mcpcp.ts');
const issuer = 'http://127.0.0.1:9100';
const audience = 'http://127.0.0.1:9100/mcp';
let tmp: string;

function mcpcp(args: string[], options: { cwd?: string; input?: string } = {}) {
  return execa(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? tmp,
    reject: false,
    timeout: 20_000,
    extendEnv: false,
    env: {},
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mcpcp-keys-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('--help', () => {
  it('prints usage and exits 0 for every command', async () => {
    for (const args of [
      ['--help'],
      ['up', '--help'],
      ['status', '--help'],
      ['down', '--help'],
      ['demo', '--help'],
      ['verify', '--help'],
      ['config', '--help'],
      ['config', 'check', '--help'],
      ['policy', '--help'],
      ['policy', 'explain', '--help'],
      ['keys', '--help'],
      ['keys', 'generate', '--help'],
      ['keys', 'rotate', '--help'],
      ['keys', 'list', '--help'],
      ['keys', 'remove', '--help'],
      ['token', '--help'],
      ['token', 'issue', '--help'],
      ['token', 'verify', '--help'],
    ]) {
      const result = await mcpcp(args);
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toContain('Usage: mcpcp');
    }
  });
});

describe('bad flag values', () => {
  it('exit 2 (usage), like commander usage errors, naming the flag', async () => {
    const bits = await mcpcp(['keys', 'generate', '--dir', path.join(tmp, 'bits'), '--bits', 'abc']);
    expect(bits.exitCode).toBe(2);
    expect(bits.stderr).toContain('--bits');
    const port = await mcpcp(['up', '--port', 'x', '--data-dir', path.join(tmp, 'port')]);
    expect(port.exitCode).toBe(2);
    expect(port.stderr).toContain('--port');
  });
});

describe('mcpcp keys', () => {
  it('generates a key folder, refuses to overwrite it (exit 1, ERR_KEYS_EXIST) and replaces it with --force', async () => {
    const dir = path.join(tmp, 'gen');
    const first = await mcpcp(['keys', 'generate', '--dir', dir, '--json']);
    expect(first.exitCode).toBe(0);
    const { kid } = JSON.parse(first.stdout) as { kid: string };
    expect((await stat(path.join(dir, `private-${kid}.pem`))).mode & 0o777).toBe(0o600);

    const again = await mcpcp(['keys', 'generate', '--dir', dir]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('ERR_KEYS_EXIST');

    const forced = await mcpcp(['keys', 'generate', '--dir', dir, '--force', '--json']);
    expect(forced.exitCode).toBe(0);
    expect((JSON.parse(forced.stdout) as { kid: string }).kid).not.toBe(kid);
  });

  it('defaults to .mcpcp/keys under the working folder', async () => {
    const cwd = await mkdtemp(path.join(tmp, 'home-'));
    const result = await mcpcp(['keys', 'generate'], { cwd });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(await readFile(path.join(cwd, '.mcpcp/keys/jwks.json'), 'utf8'))).toMatchObject({
      keys: [{ alg: 'RS256', use: 'sig' }],
    });
  });

  it('rotates, lists newest first, and removes a key so its tokens are refused', async () => {
    const dir = path.join(tmp, 'rot');
    const flags = ['--keys-dir', dir, '--issuer', issuer, '--audience', audience];
    await mcpcp(['keys', 'generate', '--dir', dir]);
    const oldToken = (await mcpcp(['token', 'issue', '--agent', 'alice', ...flags])).stdout.trim();
    const rotated = await mcpcp(['keys', 'rotate', '--dir', dir, '--json']);
    expect(rotated.exitCode).toBe(0);
    const newKid = (JSON.parse(rotated.stdout) as { kid: string }).kid;
    const list = JSON.parse((await mcpcp(['keys', 'list', '--dir', dir, '--json'])).stdout) as {
      keys: { kid: string; signing: boolean }[];
    };
    expect(list.keys.map((key) => key.signing)).toEqual([true, false]);
    expect(list.keys[0]!.kid).toBe(newKid);
    const oldKid = list.keys[1]!.kid;

    expect((await mcpcp(['token', 'verify', oldToken, ...flags])).exitCode).toBe(0);
    const removed = await mcpcp(['keys', 'remove', '--dir', dir, '--kid', oldKid]);
    expect(removed.exitCode).toBe(0);
    const refused = await mcpcp(['token', 'verify', oldToken, ...flags]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('ERR_TOKEN_UNKNOWN_KEY');

    const last = await mcpcp(['keys', 'remove', '--dir', dir, '--kid', newKid]);
    expect(last.exitCode).toBe(2);
    expect((await mcpcp(['keys', 'remove', '--dir', dir])).exitCode).toBe(2); // --kid is required
  });
});

describe('mcpcp token', () => {
  const dir = () => path.join(tmp, 'tok');
  const flags = () => ['--keys-dir', dir(), '--issuer', issuer, '--audience', audience];

  beforeAll(async () => {
    expect((await mcpcp(['keys', 'generate', '--dir', dir()])).exitCode).toBe(0);
  });

  it('issue prints just the JWT on stdout', async () => {
    const result = await mcpcp([
      'token',
      'issue',
      '--agent',
      'alice',
      '--ttl',
      '30m',
      '--scope',
      'a,b',
      ...flags(),
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = decodeJwt(result.stdout);
    expect(claims).toMatchObject({ iss: issuer, aud: audience, sub: 'alice', scope: 'a b' });
    expect(claims.exp! - claims.iat!).toBe(1800);
    expect(typeof claims.jti).toBe('string');
  });

  it('issue --json prints token, agent, expiresAt and audience', async () => {
    const result = await mcpcp(['token', 'issue', '--agent', 'bob', '--json', ...flags()]);
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ agent: 'bob', audience });
    expect(Date.parse(out.expiresAt as string)).toBe(decodeJwt(out.token as string).exp! * 1000);
  });

  it('issue refuses a bad ttl, a missing --agent, or no issuer/audience with exit 2', async () => {
    expect((await mcpcp(['token', 'issue', '--agent', 'a', '--ttl', 'forever', ...flags()])).exitCode).toBe(
      2,
    );
    expect((await mcpcp(['token', 'issue', ...flags()])).exitCode).toBe(2);
    const bare = await mcpcp(['token', 'issue', '--agent', 'a', '--keys-dir', dir()]);
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain('--issuer');
  });

  it('issue fails with exit 1 and ERR_KEYS_NOT_FOUND when there are no keys', async () => {
    const result = await mcpcp([
      'token',
      'issue',
      '--agent',
      'a',
      ...flags().slice(2),
      '--keys-dir',
      path.join(tmp, 'none'),
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('ERR_KEYS_NOT_FOUND');
  });

  it('verify accepts a good token (argument or stdin) and names the agent', async () => {
    const token = (await mcpcp(['token', 'issue', '--agent', 'carol', ...flags()])).stdout;
    const direct = await mcpcp(['token', 'verify', token, ...flags()]);
    expect(direct.exitCode).toBe(0);
    expect(direct.stdout).toContain('agent carol');
    const piped = await mcpcp(['token', 'verify', '--json', ...flags()], { input: `${token}\n` });
    expect(piped.exitCode).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ valid: true, agent: 'carol' });
  });

  it('verify exits 2 with the error code for refused tokens', async () => {
    const token = (await mcpcp(['token', 'issue', '--agent', 'dave', ...flags()])).stdout;
    const wrongAud = await mcpcp(['token', 'verify', token, ...flags(), '--audience', 'http://else/mcp']);
    expect(wrongAud.exitCode).toBe(2);
    expect(wrongAud.stderr).toContain('ERR_TOKEN_AUDIENCE');
    const garbage = await mcpcp(['token', 'verify', 'not-a-token', '--json', ...flags()]);
    expect(garbage.exitCode).toBe(2);
    expect(JSON.parse(garbage.stdout)).toMatchObject({ valid: false, code: 'ERR_TOKEN_INVALID' });
    const empty = await mcpcp(['token', 'verify', '-', ...flags()], { input: '' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('ERR_TOKEN_MISSING');
  });

  it('takes issuer, audience and keys folder from ./mcpcp.yaml and warns about unknown agents', async () => {
    const cwd = await mkdtemp(path.join(tmp, 'cfg-'));
    await writeFile(
      path.join(cwd, 'mcpcp.yaml'),
      [
        'proxy:',
        '  publicUrl: http://127.0.0.1:9200',
        '  keysDir: ./keys',
        'agents:',
        '  alice: {}',
        '',
      ].join('\n'),
    );
    expect((await mcpcp(['keys', 'generate'], { cwd })).exitCode).toBe(0);
    await stat(path.join(cwd, 'keys/jwks.json'));
    const issued = await mcpcp(['token', 'issue', '--agent', 'alice'], { cwd });
    expect(issued.exitCode).toBe(0);
    expect(issued.stderr).toBe('');
    expect(decodeJwt(issued.stdout)).toMatchObject({
      iss: 'http://127.0.0.1:9200',
      aud: 'http://127.0.0.1:9200/mcp',
    });
    expect((await mcpcp(['token', 'verify', issued.stdout], { cwd })).exitCode).toBe(0);

    const stranger = await mcpcp(['token', 'issue', '--agent', 'mallory'], { cwd });
    expect(stranger.exitCode).toBe(0);
    expect(stranger.stderr).toContain('not listed');

    // An explicit --config from elsewhere works the same.
    const explicit = await mcpcp([
      'token',
      'issue',
      '--agent',
      'alice',
      '--config',
      path.join(cwd, 'mcpcp.yaml'),
    ]);
    expect(explicit.exitCode).toBe(0);
    const broken = path.join(cwd, 'broken.yaml');
    await writeFile(broken, 'proxy: [\n');
    const bad = await mcpcp(['token', 'issue', '--agent', 'alice', '--config', broken]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('ERR_CONFIG_YAML');
  });
});
