// The `mcpcp` CLI through its JavaScript entry (launcher/bin/mcpcp.js: compile cache on, then the TypeScript
// CLI), started as package.json starts it: arguments, output and exit codes pass through.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../../launcher/bin/node-version.js';
import { nodeFlags } from '../../../launcher/node-flags.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = path.join(repoRoot, 'launcher/bin/mcpcp.js');

function mcpcp(args: string[]) {
  return execa(process.execPath, [...nodeFlags, entry, ...args], {
    cwd: repoRoot,
    reject: false,
    timeout: 20_000,
    extendEnv: false,
    env: {},
  });
}

describe('the mcpcp entry point', () => {
  it('runs the CLI with its arguments and exit code', async () => {
    const version = await mcpcp(['--version']);
    expect(version.exitCode).toBe(0);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout).toBe(pkg.version);

    const unknown = await mcpcp(['no-such-command']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'no-such-command'");
  });
});

/** A Node binary on this machine too old to run MCPCP (the machines ship Node 20), if there is one. */
function findOldNode(): { path: string; version: string } | undefined {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'node'));
  for (const candidate of new Set([...onPath, '/usr/bin/node', '/usr/local/bin/node'])) {
    if (!existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (nodeVersionProblem(version) !== undefined) return { path: candidate, version };
    } catch {
      // not a runnable node
    }
  }
  return undefined;
}

const oldNode = findOldNode();

describe('the mcpcp entry point on a Node too old for it', () => {
  it.skipIf(oldNode === undefined)(
    'says which Node it needs and what to install, and exits 1 (a real old Node of this machine)',
    async () => {
      const run = await execa(oldNode!.path, [entry, '--version'], {
        cwd: repoRoot,
        reject: false,
        timeout: 20_000,
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).not.toContain('SyntaxError');
      expect(run.stderr).toContain(`mcpcp: MCPCP needs Node.js 22.18.0 or newer`);
      expect(run.stderr).toContain(`this is Node ${oldNode!.version} (${oldNode!.path})`);
      expect(run.stderr).toContain('Install Node 24 LTS');
    },
  );

  it('checks before loading anything else (a fake: this Node, claiming to be 20.11.0)', async () => {
    // Runs wherever the tests run (CI may have only Node 24): the version is faked before the entry loads.
    const fake = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.0"})';
    const run = await execa(process.execPath, ['--import', fake, entry, 'status'], {
      cwd: repoRoot,
      reject: false,
      timeout: 20_000,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(`mcpcp: ${nodeVersionProblem('20.11.0', process.execPath)!}`);
  });
});
