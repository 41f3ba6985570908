// Runs the official conformance suite's reference "everything" server (third-party, unchanged, found
// through services.conformanceReference; see its ORIGIN.md) as a real child process on a free port.
// Its files are copied once into .cache/ and installed there with `npm ci`, keyed by a hash of the
// files, so later runs start it in about a second. It must not change the reference's files.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('../../.cache/', import.meta.url));
const READY_MARK = '.mcpcp-installed';

export interface RunningReference {
  /** http://127.0.0.1:PORT/mcp */
  url: string;
  /** What the server wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

/** The installed copy of `source` under .cache/, made (copy + npm ci) on first use. */
export async function prepareConformanceReference(source: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(source)).sort())
    if (/\.(ts|json)$/.test(name)) hash.update(name).update(await readFile(path.join(source, name)));
  const key = hash.digest('hex').slice(0, 16);
  const dir = path.join(CACHE, `conformance-reference-${key}`);
  if (existsSync(path.join(dir, READY_MARK))) return dir;
  await mkdir(CACHE, { recursive: true });
  // Installed beside its final place and renamed, so a run killed halfway never leaves a broken copy.
  const staging = `${dir}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(source, staging, { recursive: true });
  await chmod(staging, 0o755);
  for (const name of await readdir(staging)) await chmod(path.join(staging, name), 0o644);
  await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], staging);
  await writeFile(path.join(staging, READY_MARK), `${new Date().toISOString()}\n`);
  try {
    await rename(staging, dir);
  } catch (error) {
    // Another run installed it first: use theirs.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, READY_MARK))) throw error;
  }
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts the reference server from `source` (the shared folder) and resolves once it listens. */
export async function startConformanceReference(source: string): Promise<RunningReference> {
  const dir = await prepareConformanceReference(source);
  const port = await freePort();
  const tsx = path.join(dir, 'node_modules/tsx/dist/cli.mjs');
  const child = spawn(process.execPath, [tsx, 'everything-server.ts'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-20_000);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // tsx runs the server in a child process of its own: signal the whole group.
    const kill = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        child.kill(signal);
      }
    };
    kill('SIGTERM');
    if (!(await exited(child, 3_000))) {
      kill('SIGKILL');
      await exited(child, 3_000);
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reference server not listening: ${output}`)), 30_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`reference server exited early (${code ?? signal}): ${output}`));
      });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        keep(chunk);
        if (output.includes('MCP endpoint:')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}/mcp`, output: () => output, stop };
}
