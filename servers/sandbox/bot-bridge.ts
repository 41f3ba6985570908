// The bridge between a bot and the host: the ctx.* host functions handed to the in-sandbox prelude. Posts and state
// are copied out by a host-side walk (bot-copy-out.ts), strings and numbers cross as themselves, and every value is
// checked here on arrival; host work is charged to the run's budget. A refused ctx.post / ctx.setState throws a
// BotApiError at that call and changes nothing, so the bot may catch it and carry on. It owns HookIo, what one hook
// has produced so far; it must not decide success or failure.
// The functions are created once per prepared context (sandbox-template.ts) and serve the hook in a BridgeSlot.
import { createHash, createHmac } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { capturePrimordials, copyOut, releasePrimordials } from './bot-copy-out.ts';
import type { CopyResult } from './bot-copy-out.ts';
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
  /** Copied out on arrival: host values, never the sandbox's objects. */
  posts: Array<{ kind: string; body: unknown }>;
  state: unknown;
  logs: string[];
  /**
   * What each refused ctx.post / ctx.setState said (server words). If the BotApiError it threw escapes the hook,
   * the hook fails as ERR_BOT_OUTPUT with that text; if the bot caught it, nothing of it remains.
   */
  refusals: Set<string>;
}

/** What the host functions serve: the current run and hook. Set before each hook and cleared after it. */
export interface BridgeSlot {
  run?: SandboxRun;
  io?: HookIo;
}

/** A handle to return, nothing, or `{ error }`: the sandbox throws that value from the bot's call. */
type HostFunction = (
  run: SandboxRun,
  io: HookIo,
  ...args: QuickJSHandle[]
) => QuickJSHandle | { error: QuickJSHandle } | undefined;

/** The prepared context's in-sandbox hook driver, and what to release with the context. */
export interface InstalledBridge {
  runHook: QuickJSHandle;
  release(): void;
}

/**
 * Creates the host functions in `vm` and evaluates the prelude with them; returns the in-sandbox hook driver.
 * The functions act on whatever `slot` holds when they are called, so a prepared context serves many hooks.
 * Must run before any bot code in `vm`: it captures the pristine built-ins the copy-out walk calls.
 */
export function installBridge(vm: QuickJSContext, slot: BridgeSlot): InstalledBridge {
  const primordials = capturePrimordials(vm);
  const str = (run: SandboxRun, h: QuickJSHandle | undefined): string | undefined => {
    if (h === undefined || vm.typeof(h) !== 'string') return undefined;
    const text = vm.getString(h);
    run.charge(text.length * INSTRUCTIONS_PER_CHAR);
    return text;
  };
  const apiError = (message: string): QuickJSHandle => vm.newError({ name: 'BotApiError', message });
  const budgetError = (): QuickJSHandle => apiError('the hook exceeded its budget');
  const refuse = (io: HookIo, problem: string): QuickJSHandle => {
    io.refusals.add(problem);
    return apiError(problem);
  };
  const copy = (run: SandboxRun, h: QuickJSHandle | undefined, maxBytes: number): CopyResult =>
    copyOut(run, primordials, h, { maxDepth: botOutputLimits.maxDepth, maxBytes });
  const functions: Record<string, HostFunction> = {
    post: (run, io, kind, body) => {
      const kindText = str(run, kind);
      const early = checkPost(kindText, null, io.posts.length);
      if (early !== undefined) return refuse(io, early);
      const copied = copy(run, body, botOutputLimits.maxBodyBytes);
      if ('thrown' in copied) return { error: copied.thrown };
      if ('budget' in copied) return budgetError();
      if ('problem' in copied) return refuse(io, `post body ${copied.problem}`);
      const problem = checkPost(kindText, copied.value, io.posts.length);
      if (problem !== undefined) return refuse(io, problem);
      io.posts.push({ kind: kindText!, body: copied.value });
      return undefined;
    },
    getState: (run, io) => {
      run.charge(io.stateJson.length * INSTRUCTIONS_PER_CHAR);
      return vm.newString(io.stateJson);
    },
    setState: (run, io, state) => {
      const copied = copy(run, state, botOutputLimits.maxStateBytes);
      if ('thrown' in copied) return { error: copied.thrown };
      if ('budget' in copied) return budgetError();
      if ('problem' in copied) return refuse(io, `state ${copied.problem}`);
      const problem = checkState(copied.value);
      if (problem !== undefined) return refuse(io, problem);
      io.stateJson = JSON.stringify(copied.value);
      io.state = copied.value;
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
      const runHook = vm.unwrapResult(vm.callFunction(factory, vm.undefined, host));
      return {
        runHook,
        release: () => {
          runHook.dispose();
          releasePrimordials(primordials);
        },
      };
    } finally {
      factory.dispose();
    }
  } finally {
    host.dispose();
  }
}
