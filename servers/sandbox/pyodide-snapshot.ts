// The pool's memory snapshot: one interpreter, started under the same confinement as every other, loads Pyodide
// cold, imports the common stdlib modules, and hands back Pyodide's memory snapshot (its wasm heap after start-up,
// before any program ran). Interpreters restored from it start several times faster than a cold load.
// The file is cached in a private folder, keyed by everything that shapes it (Pyodide, Node, the child script), so
// a restarted server reuses it. It owns making, caching and describing the snapshot; never running programs.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { McpcpError } from '../../lib/errors.ts';
import {
  childScript,
  pyodideVersion,
  spawnPythonProcess,
  type PythonProcessLimits,
} from './pyodide-process.ts';
import { createChildWire } from './pyodide-wire.ts';

export interface PythonInfo {
  /** e.g. "3.14.2" */
  python: string;
  pyodide: string;
  /** Importable top-level stdlib modules (no leading underscore), sorted. */
  stdlib: string[];
}

export interface PyodideSnapshot {
  file: string;
  info: PythonInfo;
  /** True when the file came from an earlier run's cache. */
  cached: boolean;
}

async function snapshotKey(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${pyodideVersion()}\0${process.version}\0${process.arch}\0`);
  hash.update(await readFile(childScript));
  return hash.digest('hex').slice(0, 16);
}

/** Makes (or finds in `cacheDir`) the snapshot. `cacheDir` is created with mode 0700. */
export async function makePyodideSnapshot(options: {
  cacheDir: string;
  limits: PythonProcessLimits;
  timeoutMs?: number;
  /** Aborting kills the interpreter making the snapshot (the pool closing). */
  signal?: AbortSignal;
}): Promise<PyodideSnapshot> {
  await mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
  await chmod(options.cacheDir, 0o700);
  const key = await snapshotKey();
  const file = join(options.cacheDir, `pyodide-${key}.bin`);
  const infoFile = join(options.cacheDir, `pyodide-${key}.json`);
  try {
    const info = JSON.parse(await readFile(infoFile, 'utf8')) as PythonInfo;
    await readFile(file).then((bytes) => {
      if (bytes.length === 0) throw new Error('empty snapshot');
    });
    return { file, info, cached: true };
  } catch {
    // not cached yet (or unreadable): make it
  }
  const { bytes, info } = await captureSnapshot(options.limits, options.timeoutMs ?? 120_000, options.signal);
  // Written under temporary names and renamed, so a crash never leaves a half-written snapshot under its key.
  await writeFile(`${file}.tmp`, bytes, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  await writeFile(`${infoFile}.tmp`, JSON.stringify(info), { mode: 0o600 });
  await rename(`${infoFile}.tmp`, infoFile);
  return { file, info, cached: false };
}

function captureSnapshot(
  limits: PythonProcessLimits,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ bytes: Buffer; info: PythonInfo }> {
  signal?.throwIfAborted();
  // Below normal priority: it runs no program, and a server starting beside others (a fleet) should not slow them.
  const { child } = spawnPythonProcess({ limits, mode: 'snapshot', nice: 10 });
  signal?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
  const wire = createChildWire(child);
  child.stdin?.on('error', () => undefined);
  child.stdin?.end();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let result: { bytes: Buffer; info: PythonInfo } | undefined;
    wire.onMessage((message) => {
      if (message.t !== 'snapshot' || !Buffer.isBuffer(message.block)) return;
      const reported = message.info as { python?: unknown; stdlib?: unknown };
      result = {
        bytes: message.block,
        info: {
          python: String(reported.python),
          pyodide: pyodideVersion(),
          stdlib: Array.isArray(reported.stdlib) ? reported.stdlib.map(String) : [],
        },
      };
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && code === 0) resolve(result);
      else
        reject(
          new McpcpError(
            'ERR_RUNNER_UNAVAILABLE',
            `making the Pyodide snapshot failed (${signal ?? `code ${code}`}): ${wire.stderrTail().slice(-2000)}`,
          ),
        );
    });
  });
}
