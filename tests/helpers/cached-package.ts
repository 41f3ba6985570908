// Installs an npm package at an exact version into .cache/ once, for tests that drive a real third-party
// tool too large to be a project dependency (the MCP Inspector brings its whole web UI). Later runs reuse
// the installed copy. Installed beside its final folder and renamed, so a killed run leaves nothing broken.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('../../.cache/npm/', import.meta.url));
const READY_MARK = '.mcpcp-installed';

/** The folder whose node_modules holds `name@version` (an exact version). */
export async function cachedPackage(name: string, version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new TypeError(`cachedPackage needs an exact version, not ${version}`);
  const dir = path.join(CACHE, `${name.replace(/[@/]/g, '_')}-${version}`);
  if (existsSync(path.join(dir, READY_MARK))) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(path.join(staging, 'package.json'), '{"private":true}\n');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `${name}@${version}`],
      { cwd: staging, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm install ${name}@${version} exited ${code}: ${stderr}`)),
    );
  });
  await writeFile(path.join(staging, READY_MARK), `${new Date().toISOString()}\n`);
  try {
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, READY_MARK))) throw error;
  }
  return dir;
}
