// One Pyodide interpreter process (pyodide-child.js) seen from the parent: the Node flags that confine it, its
// start-up, ONE run with the parent's hard limits (wall-clock kill, RSS watch, output cap), and its end. It owns the
// process and the wire; the warm pool (pyodide-pool.ts) decides when to start and hand out interpreters.
// It must never give an interpreter a second run: after its run (or any failure) the process is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpcpError } from '../../lib/errors.ts';
import {
  createOutputCollector,
  type CodeRunOutcome,
  type ExitReason,
  type OutputListener,
} from './code-run-types.ts';
import { createChildWire, type ChildMessage } from './pyodide-wire.ts';

export const childScript = fileURLToPath(new URL('./pyodide-child.js', import.meta.url));
export const runScript = fileURLToPath(new URL('./pyodide-run.py', import.meta.url));

/** Folder of the npm `pyodide` package (the interpreter, its wasm and python_stdlib.zip). */
export function pyodideDir(): string {
  return dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
}

export function pyodideVersion(): string {
  const manifest = JSON.parse(readFileSync(`${pyodideDir()}/package.json`, 'utf8')) as { version: string };
  return manifest.version;
}

/** The Python version the installed Pyodide ships (from its lock file), e.g. "3.14.2". */
export function pyodidePythonVersion(): string {
  try {
    const lock = JSON.parse(readFileSync(`${pyodideDir()}/pyodide-lock.json`, 'utf8')) as {
      info?: { python?: string };
    };
    return lock.info?.python ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface PythonProcessLimits {
  /** Cap of the interpreter's WebAssembly memory (Python's heap); past it Python raises MemoryError. */
  wasmMaxBytes: number;
  /** V8 old-space cap of the interpreter process (--max-old-space-size), MiB. */
  heapMb: number;
  /** Backstop: resident set size at which the parent kills the process. */
  rssMaxBytes: number;
  /** stdout + stderr bytes one run may write. */
  outputMaxBytes: number;
}

export interface PythonRunRequest {
  code: string;
  stdin: string;
  files: Record<string, string>;
}

export type PythonRunOutcome = CodeRunOutcome;

export interface PythonInterpreter {
  readonly pid: number | undefined;
  /** Resolves once the interpreter is loaded and locked down; rejects if it dies or does not start in time. */
  readonly ready: Promise<void>;
  /** Runs one program; the process is gone afterwards. */
  run(
    request: PythonRunRequest,
    options: { timeoutMs: number; onOutput?: OutputListener },
  ): Promise<PythonRunOutcome>;
  /** Called once when the process exits (for whatever reason). */
  onExit(listener: () => void): void;
  kill(): void;
}

export interface PythonProcessOptions {
  limits: PythonProcessLimits;
  /** A memory snapshot made by makePyodideSnapshot (pyodide-snapshot.ts); without one the interpreter loads cold. */
  snapshotFile?: string;
  mode?: 'serve' | 'snapshot';
  /** How long loading may take before the interpreter counts as failed. */
  readyTimeoutMs?: number;
  /** Tests only: a module run after the lock-down instead of a program (pyodide-child.js, `probeModule`). */
  probeModule?: string;
  /**
   * Process priority (nice), when set. Off by default: a lowered priority cannot be raised again without
   * privileges, and a busy machine then starves the run itself, not just its warm-up.
   */
  nice?: number;
}

/**
 * The Node command line of an interpreter: the permission model with reads only of the pyodide package, the two
 * runner files and the snapshot; no writes, child processes, workers, addons, inspector or WASI (none granted);
 * no code generation from strings (eval, new Function); no WebSocket or navigator globals; a bounded V8 heap.
 */
export function pythonNodeArgs(options: PythonProcessOptions): string[] {
  const dir = pyodideDir();
  const config = {
    pyodideDir: dir,
    wasmMaxBytes: options.limits.wasmMaxBytes,
    outputMaxBytes: options.limits.outputMaxBytes,
    mode: options.mode ?? 'serve',
    ...(options.snapshotFile ? { snapshotFile: options.snapshotFile } : {}),
    ...(options.probeModule ? { probeModule: options.probeModule } : {}),
  };
  return [
    '--permission',
    `--allow-fs-read=${dir}`,
    `--allow-fs-read=${childScript}`,
    `--allow-fs-read=${runScript}`,
    ...(options.snapshotFile ? [`--allow-fs-read=${options.snapshotFile}`] : []),
    ...(options.probeModule ? [`--allow-fs-read=${options.probeModule}`] : []),
    '--disallow-code-generation-from-strings',
    '--no-experimental-websocket',
    '--no-experimental-global-navigator',
    `--max-old-space-size=${options.limits.heapMb}`,
    '--max-semi-space-size=4',
    childScript,
    JSON.stringify(config),
  ];
}

/** Reads a process's resident set size from /proc (Linux); undefined elsewhere or once it is gone. */
function residentBytes(pid: number): number | undefined {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? pages * 4096 : undefined;
  } catch {
    return undefined;
  }
}

export function spawnPythonProcess(options: PythonProcessOptions): { child: ChildProcess; args: string[] } {
  const args = pythonNodeArgs(options);
  // An empty environment: nothing of the server's reaches the interpreter.
  const child = spawn(process.execPath, args, { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid !== undefined && options.nice !== undefined) {
    try {
      setPriority(child.pid, options.nice);
    } catch {
      // not permitted here: the interpreter runs at normal priority
    }
  }
  return { child, args };
}

export function startPythonInterpreter(options: PythonProcessOptions): PythonInterpreter {
  const { child } = spawnPythonProcess(options);
  const wire = createChildWire(child);
  let exited = false;
  const exitListeners: (() => void)[] = [];
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
      for (const listener of exitListeners.splice(0)) listener();
    });
  });
  child.once('error', () => undefined); // a spawn failure also ends in 'exit' (or 'close'); handled there
  child.stdin?.on('error', () => undefined); // EPIPE when the process is already gone
  const kill = (): void => {
    if (!exited) child.kill('SIGKILL');
  };

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the Python interpreter did not start in time'));
    }, options.readyTimeoutMs ?? 60_000);
    wire.onMessage((message) => {
      if (message.t === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new McpcpError(
          'ERR_RUNNER_UNAVAILABLE',
          `the Python interpreter exited while starting (${signal ?? `code ${code}`}): ${wire.stderrTail()}`,
        ),
      );
    });
  });
  ready.catch(() => undefined);

  let used = false;
  return {
    get pid() {
      return child.pid;
    },
    ready,
    onExit(listener) {
      if (exited) listener();
      else exitListeners.push(listener);
    },
    kill,
    async run(request, runOptions) {
      if (used) throw new McpcpError('ERR_INTERNAL', 'an interpreter runs one program only');
      used = true;
      await ready;
      return runOnce(child, wire, exit, kill, options.limits, request, runOptions);
    },
  };
}

async function runOnce(
  child: ChildProcess,
  wire: ReturnType<typeof createChildWire>,
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  kill: () => void,
  limits: PythonProcessLimits,
  request: PythonRunRequest,
  options: { timeoutMs: number; onOutput?: OutputListener },
): Promise<PythonRunOutcome> {
  const started = performance.now();
  const out = createOutputCollector(limits.outputMaxBytes, options.onOutput);
  let stopped: ExitReason | undefined;
  let done: ChildMessage | undefined;
  const stop = (reason: ExitReason): void => {
    if (done === undefined) stopped ??= reason; // a run that already reported keeps its own outcome
    kill();
  };
  wire.onMessage((message) => {
    if (message.t === 'out' && stopped === undefined && done === undefined) {
      if (!out.add(message.s === 'stderr' ? 'stderr' : 'stdout', String(message.d))) stop('output_limit');
    } else if (message.t === 'done') {
      done = message;
    }
  });
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const rssWatch = setInterval(() => {
    const rss = child.pid === undefined ? undefined : residentBytes(child.pid);
    if (rss !== undefined && rss > limits.rssMaxBytes) stop('memory');
  }, 50);
  child.stdin?.end(`${JSON.stringify(request)}\n`);
  const { code, signal } = await exit;
  clearTimeout(timer);
  clearInterval(rssWatch);
  const duration = Math.round(performance.now() - started);
  const output = { stdout: out.stdout, stderr: out.stderr };
  if (stopped !== undefined) {
    return { ...output, result: null, exit_reason: stopped, duration_ms: duration };
  }
  if (done !== undefined) {
    const reported = done as unknown as Omit<PythonRunOutcome, 'stdout' | 'stderr' | 'duration_ms'>;
    return {
      ...output,
      result: reported.result ?? null,
      exit_reason: reported.exit_reason,
      ...(reported.error ? { error: reported.error } : {}),
      duration_ms: duration,
    };
  }
  // It died without a report: V8 out of memory (abort), or something killed it.
  const stderr = wire.stderrTail();
  const memory = signal === 'SIGABRT' || signal === 'SIGTRAP' || /heap limit|out of memory/i.test(stderr);
  return {
    ...output,
    result: null,
    exit_reason: memory ? 'memory' : 'error',
    error: {
      type: memory ? 'MemoryError' : 'InterpreterExit',
      message: `the interpreter process stopped (${signal ?? `code ${code}`})`,
      traceback: stderr.slice(-4096),
    },
    duration_ms: duration,
  };
}
