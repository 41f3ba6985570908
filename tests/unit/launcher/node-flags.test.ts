// launcher/node-flags.ts lists the Node flags the `mcpcp` CLI runs with; they take effect only where Node is
// started, so the bin's #! line and every npm script that runs the CLI must carry exactly that list.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { nodeFlags } from '../../../launcher/node-flags.ts';

const root = new URL('../../../', import.meta.url);
const read = (file: string): Promise<string> => readFile(new URL(file, root), 'utf8');

interface PackageJson {
  bin: Record<string, string>;
  scripts: Record<string, string>;
}

describe('node flags of the mcpcp CLI', () => {
  it('are on the #! line of the JavaScript entry the package installs as its bin', async () => {
    const pkg = JSON.parse(await read('package.json')) as PackageJson;
    expect(pkg.bin.mcpcp).toBe('launcher/bin/mcpcp.js');
    const [firstLine] = (await read(pkg.bin.mcpcp!)).split('\n');
    expect(firstLine).toBe(`#!/usr/bin/env -S node ${nodeFlags.join(' ')}`);
  });

  it('start every npm script that runs the CLI, through the same entry', async () => {
    const pkg = JSON.parse(await read('package.json')) as PackageJson;
    const cliScripts = Object.entries(pkg.scripts).filter(([, command]) => command.includes('launcher/bin/'));
    expect(cliScripts.map(([name]) => name).sort()).toEqual(['demo', 'mcpcp']);
    for (const [, command] of cliScripts) {
      expect(command.startsWith(`node ${nodeFlags.join(' ')} launcher/bin/mcpcp.js`)).toBe(true);
    }
  });
});
