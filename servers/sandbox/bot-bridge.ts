// The bridge between a bot and the host: the ctx.* host functions handed to the in-sandbox prelude. Only strings
// and numbers cross; every value is validated (and JSON parsed) here on arrival, and host work is charged to the
// run's budget. It owns HookIo, what one hook has produced so far; it must not decide success or failure.
// The functions are created once per prepared context (sandbox-template.ts) and serve the hook in a BridgeSlot.
import { createHash, createHmac } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { botOutputLimits, checkPost, checkState } from './bot-output.ts';
import { botPrelude } from './bot-prelude.ts';
import type { SandboxRun } from './quickjs-engine.ts';
import type { RandomStream } from './random-stream.ts';

/** Host work charged to the instruction budget: per ctx.* call, and per character crossing the bridge. */
const INSTRUCTIONS_PER_HOST_CALL = 100;
const INSTRUCTIONS_PER_CHAR = 1 / 8;

export interface HookIo {
  stream: RandomStream;
  now: number;
  stateJson: string;
  stateChanged: boolean;
  /** Parsed on arrival: the host never trusts the sandbox to have sent valid JSON. */
  posts: Array<{ kind: string; body: unknown }>;
  state: unknown;
  logs: string[];
  outputProblem?: string;
}

function parseJson(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** What the host functions serve: the current run and hook. Set before each hook and cleared after it. */
export interface BridgeSlot {
  run?: SandboxRun;
  io?: HookIo;
}

type HostFunction = (run: SandboxRun, io: HookIo, ...args: QuickJSHandle[]) => QuickJSHandle | undefined;

/**
 * Creates the host functions in `vm` and evaluates the prelude with them; returns the in-sandbox hook driver.
 * The functions act on whatever `slot` holds when they are called, so a prepared context serves many hooks.
 */
export function installBridge(vm: QuickJSContext, slot: BridgeSlot): QuickJSHandle {
  const str = (run: SandboxRun, h: QuickJSHandle | undefined): string | undefined => {
    if (h === undefined || vm.typeof(h) !== 'string') return undefined;
    const text = vm.getString(h);
    run.charge(text.length * INSTRUCTIONS_PER_CHAR);
    return text;
  };
  const apiError = (message: string): QuickJSHandle => vm.newError({ name: 'BotApiError', message });
  const budgetError = (): QuickJSHandle => apiError('the hook exceeded its budget');
  const output = (io: HookIo, problem: string): QuickJSHandle => {
    io.outputProblem ??= problem;
    return apiError(problem);
  };
  const functions: Record<string, HostFunction> = {
    post: (run, io, kind, body) => {
      const bodyJson = str(run, body);
      const problem = checkPost(str(run, kind), bodyJson, io.posts.length);
      const parsed = problem === undefined ? parseJson(bodyJson) : undefined;
      if (parsed === undefined) return output(io, problem ?? 'post body is not JSON');
      io.posts.push({ kind: str(run, kind) ?? '', body: parsed.value });
      return undefined;
    },
    getState: (run, io) => {
      run.charge(io.stateJson.length * INSTRUCTIONS_PER_CHAR);
      return vm.newString(io.stateJson);
    },
    setState: (run, io, state) => {
      const stateJson = str(run, state);
      const problem = checkState(stateJson);
      const parsed = problem === undefined ? parseJson(stateJson) : undefined;
      if (parsed === undefined || stateJson === undefined) return output(io, problem ?? 'state is not JSON');
      io.stateJson = stateJson;
      io.state = parsed.value;
      io.stateChanged = true;
      return undefined;
    },
    random: (_run, io) => vm.newNumber(io.stream.random()),
    randomInt: (_run, io, n) => {
      const value = n !== undefined && vm.typeof(n) === 'number' ? vm.getNumber(n) : NaN;
      if (!Number.isInteger(value) || value < 1 || value > 2 ** 53) {
        return apiError('randomInt(n) needs an integer n with 1 <= n <= 2^53');
      }
      return vm.newNumber(io.stream.randomInt(value));
    },
    now: (_run, io) => vm.newNumber(io.now),
    sha256: (run, _io, text) => {
      const data = str(run, text) ?? '';
      if (run.stopped()) return budgetError();
      return vm.newString(createHash('sha256').update(data).digest('hex'));
    },
    hmac: (run, _io, key, message) => {
      const secret = str(run, key) ?? '';
      const data = str(run, message) ?? '';
      if (run.stopped()) return budgetError();
      return vm.newString(createHmac('sha256', secret).update(data).digest('hex'));
    },
    log: (run, io, line) => {
      const text = str(run, line);
      if (text !== undefined && io.logs.length < botOutputLimits.maxLogLines) {
        io.logs.push(text.slice(0, botOutputLimits.maxLogChars));
      }
      return undefined;
    },
    fail: (run, io, problem) => {
      io.outputProblem ??= str(run, problem) ?? 'invalid output';
      return undefined;
    },
  };
  const host = vm.newObject();
  try {
    for (const [name, fn] of Object.entries(functions)) {
      const handle = vm.newFunction(name, (...args) => {
        const { run, io } = slot;
        if (run === undefined || io === undefined) return apiError('no hook is running');
        return run.charge(INSTRUCTIONS_PER_HOST_CALL) ? budgetError() : fn(run, io, ...args);
      });
      vm.setProp(host, name, handle);
      handle.dispose();
    }
    const factory = vm.unwrapResult(vm.evalCode(botPrelude, 'prelude.js'));
    try {
      return vm.unwrapResult(vm.callFunction(factory, vm.undefined, host));
    } finally {
      factory.dispose();
    }
  } finally {
    host.dispose();
  }
}
