// Runs ONE JavaScript program for the code runner in QuickJS, on the calling thread: a prepared context (console
// and the output bridge installed once) restored from its memory snapshot after every run (sandbox-template.ts), the
// same budgets as bot hooks (quickjs-engine.ts), console output streamed to the caller, `stdin` as a global string,
// and the script's completion value (awaited when it is a promise) as the result.
// It must not give the program any host access: only text crosses, through two host functions.
// js-snippet-pool.ts runs it in worker threads with a hard wall-clock kill; use that, not this, from servers.
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import {
  createOutputCollector,
  type CodeRunOutcome,
  type OutputListener,
  type RunError,
  type RunResultValue,
} from './code-run-types.ts';
import { sandboxLimitMaxima, type SandboxLimits, type SandboxRun } from './quickjs-engine.ts';
import { createSandboxTemplate } from './sandbox-template.ts';

export interface JsSnippetRequest {
  code: string;
  stdin: string;
  timeoutMs: number;
  /** QuickJS heap for the run (capped at the sandbox maximum). */
  memoryBytes: number;
  outputMaxBytes: number;
}

const RESULT_MAX_CHARS = 256 * 1024;
const MEMORY_MESSAGES = new Set(['out of memory', 'string too long']);

/** What the host functions serve: the run in progress. */
interface SnippetSlot {
  run?: SandboxRun;
  add?: (stream: 'stdout' | 'stderr', text: string) => boolean;
  outputFull?: boolean;
}

interface SnippetContext {
  slot: SnippetSlot;
  /** In-sandbox function: value → JSON text of {json} / {repr} / null. */
  render: QuickJSHandle;
}

// Runs once per prepared context. Host functions arrive as globals and are removed, so programs see only console
// and stdin. Formatting happens inside the sandbox, under the run's budget.
const prelude = `(() => {
  const out = globalThis.__mcpcpOut;
  delete globalThis.__mcpcpOut;
  const show = (value) => {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\\n' + value.stack : String(value);
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'undefined' || typeof value === 'bigint') return String(value);
    try { const text = JSON.stringify(value); if (text !== undefined) return text; } catch {}
    return String(value);
  };
  const writer = (stream) => (...values) => { out(stream, values.map(show).join(' ') + '\\n'); };
  const console = Object.freeze({
    log: writer('stdout'), info: writer('stdout'), debug: writer('stdout'),
    error: writer('stderr'), warn: writer('stderr'), trace: writer('stderr'),
  });
  Object.defineProperty(globalThis, 'console', { value: console, writable: true, configurable: true });
  return (value) => {
    if (value === undefined) return 'null';
    try {
      const text = JSON.stringify(value);
      if (text !== undefined && typeof value !== 'function' && typeof value !== 'symbol') return JSON.stringify({ json: text });
    } catch {}
    return JSON.stringify({ repr: show(value) });
  };
})()`;

function prepareSnippetContext(vm: QuickJSContext): SnippetContext {
  const slot: SnippetSlot = {};
  const out = vm.newFunction('__mcpcpOut', (streamHandle, textHandle) => {
    const run = slot.run;
    if (!run || !slot.add || textHandle === undefined || vm.typeof(textHandle) !== 'string') return undefined;
    const text = vm.getString(textHandle);
    run.charge(100 + text.length / 8);
    const stream = streamHandle && vm.getString(streamHandle) === 'stderr' ? 'stderr' : 'stdout';
    if (!slot.add(stream, text)) {
      slot.outputFull = true;
      run.charge(Number.POSITIVE_INFINITY); // stop at the next poll; the program cannot catch this
    }
    return undefined;
  });
  vm.setProp(vm.global, '__mcpcpOut', out);
  out.dispose();
  const evaluated = vm.evalCode(prelude, 'prelude.js');
  if (evaluated.error) {
    const message = JSON.stringify(vm.dump(evaluated.error));
    evaluated.error.dispose();
    throw new Error(`code-runner prelude failed: ${message}`);
  }
  return { slot, render: evaluated.value };
}

const template = createSandboxTemplate<SnippetContext>({
  prepare: prepareSnippetContext,
  release: ({ render }) => render.dispose(),
});

/** Instantiates and prepares QuickJS on this thread now, so the first run does not pay for it. */
export function warmJsSnippets(): Promise<void> {
  return template.warm();
}

function readError(vm: QuickJSContext, handle: QuickJSHandle): RunError {
  const read = (key: string): string => {
    const value = vm.getProp(handle, key);
    try {
      return vm.typeof(value) === 'string' ? vm.getString(value).slice(0, 16_384) : '';
    } finally {
      value.dispose();
    }
  };
  try {
    if (vm.typeof(handle) === 'object' && !vm.sameValue(handle, vm.null)) {
      const type = read('name') || 'Error';
      const message = read('message');
      return { type, message, traceback: `${type}: ${message}\n${read('stack')}`.trimEnd() };
    }
    const text = vm.typeof(handle) === 'string' ? vm.getString(handle) : `${vm.typeof(handle)} thrown`;
    return { type: 'Thrown', message: text.slice(0, 4096), traceback: text.slice(0, 16_384) };
  } catch {
    return { type: 'Error', message: 'unreadable error', traceback: '' };
  } finally {
    handle.dispose();
  }
}

function nearMemoryLimit(run: SandboxRun, limit: number): boolean {
  try {
    const usage = run.runtime.computeMemoryUsage();
    try {
      const { malloc_size: size } = run.vm.dump(usage) as { malloc_size?: number };
      return typeof size === 'number' && size >= 0.8 * Math.min(limit, sandboxLimitMaxima.memoryBytes);
    } finally {
      usage.dispose();
    }
  } catch {
    return true; // measuring itself ran out of memory
  }
}

function renderResult(run: SandboxRun, render: QuickJSHandle, value: QuickJSHandle): RunResultValue {
  const { vm } = run;
  const rendered = vm.callFunction(render, vm.undefined, value);
  if (rendered.error) {
    rendered.error.dispose();
    return { repr: '(unrenderable value)' };
  }
  const text = vm.typeof(rendered.value) === 'string' ? vm.getString(rendered.value) : 'null';
  rendered.value.dispose();
  const parsed = JSON.parse(text) as RunResultValue;
  if (parsed && 'json' in parsed && parsed.json.length > RESULT_MAX_CHARS) {
    return { repr: `${parsed.json.slice(0, RESULT_MAX_CHARS)}…(truncated)` };
  }
  if (parsed && 'repr' in parsed && parsed.repr.length > RESULT_MAX_CHARS) {
    return { repr: `${parsed.repr.slice(0, RESULT_MAX_CHARS)}…(truncated)` };
  }
  return parsed;
}

type Body = Omit<CodeRunOutcome, 'stdout' | 'stderr' | 'duration_ms'>;

function execute(run: SandboxRun, context: SnippetContext, request: JsSnippetRequest): Body {
  const { vm } = run;
  const stdin = vm.newString(request.stdin);
  vm.setProp(vm.global, 'stdin', stdin);
  stdin.dispose();
  const failed = (error: QuickJSHandle): Body => {
    // QuickJS throws null when it cannot even allocate its "out of memory" error
    const nullThrown = vm.sameValue(error, vm.null);
    const report = readError(vm, error);
    if (nullThrown && nearMemoryLimit(run, request.memoryBytes)) {
      run.poison();
      const message = 'out of memory';
      return {
        exit_reason: 'memory',
        result: null,
        error: { type: 'InternalError', message, traceback: message },
      };
    }
    if (run.stopped())
      return { exit_reason: context.slot.outputFull ? 'output_limit' : 'timeout', result: null };
    if (report.type === 'InternalError' && MEMORY_MESSAGES.has(report.message)) {
      run.poison();
      return { exit_reason: 'memory', result: null, error: report };
    }
    if (report.type === 'InternalError' && report.message === 'stack overflow') run.poison();
    return { exit_reason: 'error', result: null, error: report };
  };
  const evaluated = vm.evalCode(request.code, 'code.js', { type: 'global' });
  if (evaluated.error) return failed(evaluated.error);
  let value = evaluated.value;
  try {
    const jobError = run.drainJobs();
    if (jobError) return failed(jobError);
    const state = vm.getPromiseState(value);
    if (!(state.type === 'fulfilled' && state.notAPromise)) {
      if (state.type === 'pending') {
        return {
          exit_reason: 'error',
          result: null,
          error: {
            type: 'Pending',
            message: 'the program returned a promise that never settled',
            traceback: '',
          },
        };
      }
      if (state.type === 'rejected') return failed(state.error);
      value.dispose();
      value = state.value;
    }
    if (run.stopped())
      return { exit_reason: context.slot.outputFull ? 'output_limit' : 'timeout', result: null };
    return { exit_reason: 'ok', result: renderResult(run, context.render, value) };
  } finally {
    value.dispose();
  }
}

/** Runs the program on this thread; output reaches `onOutput` as it is written. */
export async function runJsSnippetInProcess(
  request: JsSnippetRequest,
  onOutput?: OutputListener,
): Promise<CodeRunOutcome> {
  const started = performance.now();
  const output = createOutputCollector(request.outputMaxBytes, onOutput);
  const limits: SandboxLimits = {
    memoryBytes: Math.min(request.memoryBytes, sandboxLimitMaxima.memoryBytes),
    // time is the limit here; the instruction budget only backs it up
    instructions: sandboxLimitMaxima.instructions,
    wallMs: Math.min(request.timeoutMs, sandboxLimitMaxima.wallMs),
    stackBytes: sandboxLimitMaxima.stackBytes,
  };
  let body: Body;
  try {
    body = await template.run(limits, (run, context) => {
      context.slot.run = run;
      context.slot.add = (stream, text) => output.add(stream, text);
      context.slot.outputFull = false;
      try {
        const outcome = execute(run, context, request);
        run.charge(0); // a program that finished inside a builtin that never polled may still be over its time
        const stop = run.stopped();
        if (stop && outcome.exit_reason === 'ok')
          return { exit_reason: context.slot.outputFull ? 'output_limit' : 'timeout', result: null };
        return outcome;
      } finally {
        context.slot.run = undefined;
        context.slot.add = undefined;
      }
    });
  } catch (error) {
    // a trap inside the engine (the module is already retired)
    body = {
      exit_reason: 'memory',
      result: null,
      error: {
        type: 'EngineFault',
        message: error instanceof Error ? error.message : String(error),
        traceback: '',
      },
    };
  }
  return {
    stdout: output.stdout,
    stderr: output.stderr,
    ...body,
    duration_ms: Math.round(performance.now() - started),
  };
}
