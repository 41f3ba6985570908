// The import direction of ARCHITECTURE.md (decision 14): lib ← config ← auth ← supervisor ← {proxy, servers}
// ← client ← launcher. A module may import its own layer or a lower one, never a higher or a sibling one.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const rank: Record<string, number> = {
  lib: 0,
  config: 1,
  auth: 2,
  supervisor: 3,
  proxy: 4,
  servers: 4,
  client: 5,
  launcher: 6,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.[cm]?[jt]s$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.includes('/node_modules/'));
}

function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.\.?\/[^']+)'/g)].map(
    (m) => m[1]!,
  );
}

function crossings(): string[] {
  const wrong: string[] = [];
  for (const layer of Object.keys(rank)) {
    for (const file of sourceFiles(join(root, layer))) {
      for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
        const target = relative(root, resolve(dirname(file), specifier)).split('/')[0]!;
        if (target === layer || !(target in rank)) continue;
        if (rank[target]! >= rank[layer]!)
          wrong.push(`${relative(root, file)} imports ${target}/ (${specifier})`);
      }
    }
  }
  return wrong;
}

describe('layers', () => {
  it('imports only downward: no module reaches a higher or sibling layer', () => {
    expect(crossings()).toEqual([]);
  });

  it('sees the imports it checks (the scan finds the supervisor under the proxy)', () => {
    const stdio = readFileSync(join(root, 'proxy/upstreams/stdio.ts'), 'utf8');
    expect(relativeImports(stdio)).toContain('../../supervisor/supervisor.ts');
  });
});
