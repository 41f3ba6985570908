// The bridge between a bot and the host: the ctx.* host functions handed to the in-sandbox prelude. Only strings
// and numbers cross; every value is validated (and JSON parsed) here on arrival, and host work is charged to the
// run's budget. It owns HookIo, what one hook has produced so far; it must not decide success or failure.
import { createHash, createHmac } from 'node:crypto';
import type { QuickJSHandle } from 'quickjs-emscripten';
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

/** Evaluates the prelude with the host functions; returns the in-sandbox hook driver. */
export function installPrelude(run: SandboxRun, io: HookIo): QuickJSHandle {
  const { vm } = run;
  const str = (h: QuickJSHandle | undefined): string | undefined => {
    if (h === undefined || vm.typeof(h) !== 'string') return undefined;
    const text = vm.getString(h);
    run.charge(text.length * INSTRUCTIONS_PER_CHAR);
    return text;
  };
  const apiError = (message: string): QuickJSHandle => vm.newError({ name: 'BotApiError', message });
  const budgetError = (): QuickJSHandle => apiError('the hook exceeded its budget');
  const output = (problem: string): QuickJSHandle => {
    io.outputProblem ??= problem;
    return apiError(problem);
  };
  const functions: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle | undefined> = {
    post: (kind, body) => {
      const bodyJson = str(body);
      const problem = checkPost(str(kind), bodyJson, io.posts.length);
      const parsed = problem === undefined ? parseJson(bodyJson) : undefined;
      if (parsed === undefined) return output(problem ?? 'post body is not JSON');
      io.posts.push({ kind: str(kind) ?? '', body: parsed.value });
      return undefined;
    },
    getState: () => {
      run.charge(io.stateJson.length * INSTRUCTIONS_PER_CHAR);
      return vm.newString(io.stateJson);
    },
    setState: (state) => {
      const stateJson = str(state);
      const problem = checkState(stateJson);
      const parsed = problem === undefined ? parseJson(stateJson) : undefined;
      if (parsed === undefined || stateJson === undefined) return output(problem ?? 'state is not JSON');
      io.stateJson = stateJson;
      io.state = parsed.value;
      io.stateChanged = true;
      return undefined;
    },
    random: () => vm.newNumber(io.stream.random()),
    randomInt: (n) => {
      const value = n !== undefined && vm.typeof(n) === 'number' ? vm.getNumber(n) : NaN;
      if (!Number.isInteger(value) || value < 1 || value > 2 ** 53) {
        return apiError('randomInt(n) needs an integer n with 1 <= n <= 2^53');
      }
      return vm.newNumber(io.stream.randomInt(value));
    },
    now: () => vm.newNumber(io.now),
    sha256: (text) => {
      const data = str(text) ?? '';
      if (run.stopped()) return budgetError();
      return vm.newString(createHash('sha256').update(data).digest('hex'));
    },
    hmac: (key, message) => {
      const secret = str(key) ?? '';
      const data = str(message) ?? '';
      if (run.stopped()) return budgetError();
      return vm.newString(createHmac('sha256', secret).update(data).digest('hex'));
    },
    log: (line) => {
      const text = str(line);
      if (text !== undefined && io.logs.length < botOutputLimits.maxLogLines) {
        io.logs.push(text.slice(0, botOutputLimits.maxLogChars));
      }
      return undefined;
    },
    fail: (problem) => {
      io.outputProblem ??= str(problem) ?? 'invalid output';
      return undefined;
    },
  };
  const host = vm.newObject();
  try {
    for (const [name, fn] of Object.entries(functions)) {
      const handle = vm.newFunction(name, (...args) =>
        run.charge(INSTRUCTIONS_PER_HOST_CALL) ? budgetError() : fn(...args),
      );
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
