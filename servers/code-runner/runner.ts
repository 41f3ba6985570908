// The code runner's engine room: the warm Python pool (Pyodide interpreters, one process per run) and the
// JavaScript worker pool (QuickJS), the translation of an engine's outcome into the tool result, and what
// runtimes() reports. It knows nothing about MCP; server.ts adapts it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { CodeRunOutcome, OutputListener } from '../sandbox/code-run-types.ts';
import {
  createJsSnippetPool,
  type JsSnippetPool,
  type JsSnippetPoolStatus,
} from '../sandbox/js-snippet-pool.ts';
import { createPythonPool, type PythonPool, type PythonPoolStatus } from '../sandbox/pyodide-pool.ts';
import { pyodidePythonVersion, pyodideVersion } from '../sandbox/pyodide-process.ts';
import { codeRunnerLimits, type RunOutput } from './limits.ts';

export interface CodeRunnerOptions {
  /** Warm Python interpreters; 0 turns Python off. Default 2. */
  pythonPool?: number;
  /** JavaScript worker threads. Default 1. */
  jsWorkers?: number;
  /** Folder for the Pyodide memory snapshot cache. */
  cacheDir: string;
  /** false: interpreters load cold instead of from the snapshot (tests compare both). Default true. */
  snapshots?: boolean;
  logger?: Logger;
}

export interface PythonRunArgs {
  code: string;
  stdin?: string | undefined;
  files?: Record<string, string> | undefined;
  timeout_ms?: number | undefined;
}

export interface RuntimesReport {
  python:
    | {
        available: true;
        version: string;
        engine: string;
        packages: { offline: string[]; note: string };
        pool: PythonPoolStatus;
        limits: Record<string, number>;
      }
    | { available: false; reason: string };
  javascript: {
    available: true;
    engine: string;
    version: string;
    pool: JsSnippetPoolStatus;
    limits: Record<string, number>;
  };
  limits: {
    timeout_ms: { default: number; max: number };
    code_bytes: number;
    stdin_bytes: number;
    files: { count: number; total_bytes: number };
    output_bytes: number;
  };
}

export interface CodeRunner {
  runPython(args: PythonRunArgs, onOutput?: OutputListener): Promise<RunOutput>;
  runJavascript(args: Omit<PythonRunArgs, 'files'>, onOutput?: OutputListener): Promise<RunOutput>;
  runtimes(): Promise<RuntimesReport>;
  /** The Python pool, when Python is on (benchmarks and tests watch it). */
  readonly pythonPool: PythonPool | undefined;
  close(): Promise<void>;
}

function quickjsVersion(): string {
  try {
    const path = createRequire(import.meta.url).resolve('quickjs-emscripten/package.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** {json} becomes its value, {repr} its text, nothing null. */
function resultValue(result: CodeRunOutcome['result']): unknown {
  if (result === null) return null;
  if ('json' in result) {
    try {
      return JSON.parse(result.json) as unknown;
    } catch {
      return result.json;
    }
  }
  return result.repr;
}

export function createCodeRunner(options: CodeRunnerOptions): CodeRunner {
  const pythonSize = Math.max(0, Math.floor(options.pythonPool ?? 2));
  const python =
    pythonSize > 0
      ? createPythonPool({
          size: pythonSize,
          cacheDir: options.cacheDir,
          snapshots: options.snapshots ?? true,
          limits: { ...codeRunnerLimits.python, outputMaxBytes: codeRunnerLimits.outputBytes },
          ...(options.logger ? { logger: options.logger } : {}),
        })
      : undefined;
  const javascript: JsSnippetPool = createJsSnippetPool({ size: options.jsWorkers ?? 1 });
  const pyodide = pyodideVersion();
  const quickjs = quickjsVersion();
  const pythonVersion = pyodidePythonVersion();

  const timeoutOf = (requested: number | undefined): number =>
    Math.min(requested ?? codeRunnerLimits.timeoutMs.default, codeRunnerLimits.timeoutMs.max);

  const toOutput = (
    outcome: CodeRunOutcome,
    runtime: RunOutput['runtime'],
    limits: RunOutput['limits'],
  ): RunOutput => ({
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    result: resultValue(outcome.result),
    exit_reason: outcome.exit_reason,
    ...(outcome.error ? { error: outcome.error } : {}),
    runtime,
    limits,
    duration_ms: outcome.duration_ms,
  });

  return {
    pythonPool: python,
    async runPython(args, onOutput) {
      if (python === undefined) {
        throw new McpcpError(
          'ERR_RUNNER_UNAVAILABLE',
          'Python is turned off on this server (--python-pool 0)',
        );
      }
      const timeout = timeoutOf(args.timeout_ms);
      const outcome = await python.run(
        { code: args.code, stdin: args.stdin ?? '', files: args.files ?? {} },
        { timeoutMs: timeout, ...(onOutput ? { onOutput } : {}) },
      );
      return toOutput(
        outcome,
        { name: 'python', version: pythonVersion, engine: `pyodide ${pyodide}` },
        {
          timeout_ms: timeout,
          memory_bytes: codeRunnerLimits.python.wasmMaxBytes,
          output_bytes: codeRunnerLimits.outputBytes,
        },
      );
    },
    async runJavascript(args, onOutput) {
      const timeout = timeoutOf(args.timeout_ms);
      const outcome = await javascript.run(
        {
          code: args.code,
          stdin: args.stdin ?? '',
          timeoutMs: timeout,
          memoryBytes: codeRunnerLimits.javascript.memoryBytes,
          outputMaxBytes: codeRunnerLimits.outputBytes,
        },
        onOutput,
      );
      return toOutput(
        outcome,
        { name: 'javascript', version: quickjs, engine: `quickjs-emscripten ${quickjs}` },
        {
          timeout_ms: timeout,
          memory_bytes: codeRunnerLimits.javascript.memoryBytes,
          output_bytes: codeRunnerLimits.outputBytes,
        },
      );
    },
    async runtimes() {
      const limits = {
        timeout_ms: { ...codeRunnerLimits.timeoutMs },
        code_bytes: codeRunnerLimits.codeBytes,
        stdin_bytes: codeRunnerLimits.stdinBytes,
        files: { count: codeRunnerLimits.files.count, total_bytes: codeRunnerLimits.files.totalBytes },
        output_bytes: codeRunnerLimits.outputBytes,
      };
      const js = {
        available: true as const,
        engine: 'quickjs',
        version: quickjs,
        pool: javascript.status(),
        limits: { memory_bytes: codeRunnerLimits.javascript.memoryBytes },
      };
      if (python === undefined) {
        return {
          python: { available: false, reason: 'turned off (--python-pool 0)' },
          javascript: js,
          limits,
        };
      }
      const info = await python.info();
      return {
        python: {
          available: true,
          version: info.python,
          engine: `pyodide ${info.pyodide}`,
          packages: {
            offline: info.stdlib,
            note: 'the Python standard library only; packages such as numpy are not installed and cannot be downloaded',
          },
          pool: python.status(),
          limits: {
            memory_bytes: codeRunnerLimits.python.wasmMaxBytes,
            process_rss_bytes: codeRunnerLimits.python.rssMaxBytes,
          },
        },
        javascript: js,
        limits,
      };
    },
    async close() {
      await Promise.all([python?.close(), javascript.close()]);
    },
  };
}
