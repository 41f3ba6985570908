// The `mcpcp` CLI through its JavaScript entry (launcher/bin/mcpcp.js: compile cache on, then the TypeScript
// CLI), started as package.json starts it: arguments, output and exit codes pass through.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
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
