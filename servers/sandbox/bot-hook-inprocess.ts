// Runs ONE bot hook (init, join or message) in a fresh QuickJS sandbox on the calling thread and returns what the
// bot posted and stored.
// It owns the bot API bridge (ctx.*), locating the bot class, and mapping failures to stable ERR_BOT_* codes.
// It must not touch channels, storage or the network: the caller persists state and randomCounter between hooks.
//
// A hook is atomic: on any error nothing applies (posts: [], state unchanged, randomCounter unchanged).
//
// Events the channel passes (documented shape; the bridge carries any JSON):
//   init    → onInit(event)      event: { channelId?, slots? } or null
//   join    → onJoin(event)      event: { slot: string, agent?: string }
//   message → onMessage(event)   event: { seq?, slot: string, agent?, kind: string, body: unknown, ts? }
import { createHash, createHmac } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { McpcpError } from '../../lib/errors.ts';
import { botOutputLimits, checkPost, checkState } from './bot-output.ts';
import { botPrelude } from './bot-prelude.ts';
import { resolveSandboxLimits, withSandbox } from './quickjs-engine.ts';
import type { SandboxRun } from './quickjs-engine.ts';
import { createRandomStream } from './random-stream.ts';
import type { RandomStream } from './random-stream.ts';
import type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';

class BotFailure extends Error {
  readonly code: BotErrorCode;
  constructor(code: BotErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const HOOKS = new Set(['init', 'join', 'message']);
const IDENT = '[A-Za-z_$][\\w$]*';
const CLASS_DECL = new RegExp(`^[ \\t]*(?:export[ \\t]+default[ \\t]+)?class[ \\t]+(${IDENT})`, 'gm');
const MODULE_SYNTAX = /^[ \t]*(?:export|import)[\s{*]/m;
const MEMORY_MESSAGES = new Set(['out of memory', 'string too long', 'stack overflow']);
/** Host work charged to the instruction budget: per ctx.* call, and per character crossing the bridge. */
const INSTRUCTIONS_PER_HOST_CALL = 100;
const INSTRUCTIONS_PER_CHAR = 1 / 8;

/** Runs the hook on this thread. Prefer runBotHook (bot-host.ts), which adds a worker and a hard wall-clock kill. */
export async function runBotHookInProcess(input: BotHookInput): Promise<BotHookOutput> {
  const fail = (code: BotErrorCode, message: string): BotHookOutput => ({
    posts: [],
    state: input.state,
    stateChanged: false,
    randomCounter: input.randomCounter,
    error: { code, message },
  });
  if (!HOOKS.has(input.hook))
    throw new McpcpError('ERR_INVALID_ARGUMENT', `unknown bot hook: ${String(input.hook)}`);
  if (typeof input.source !== 'string' || input.source.trim() === '') {
    return fail('ERR_BOT_SOURCE', 'bot source is empty');
  }
  if (Buffer.byteLength(input.source) > botOutputLimits.maxSourceBytes) {
    return fail('ERR_BOT_SOURCE', `bot source larger than ${botOutputLimits.maxSourceBytes} bytes`);
  }
  let stream: RandomStream;
  let paramsJson: string, eventJson: string, stateJson: string;
  try {
    stream = createRandomStream(input.randomKey, input.randomCounter);
    paramsJson = JSON.stringify(input.params ?? null);
    eventJson = JSON.stringify(input.event ?? null);
    stateJson = JSON.stringify(input.state ?? null);
  } catch (cause) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'bot hook input is not valid', { cause });
  }
  if (!Number.isFinite(input.now))
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'bot hook needs a finite now');

  const limits = resolveSandboxLimits(input.limits);
  const io: HookIo = {
    stream,
    now: input.now,
    stateJson,
    state: input.state,
    stateChanged: false,
    posts: [],
    logs: [],
  };
  try {
    await withSandbox(limits, (run) => {
      executeHook(run, io, input, paramsJson, eventJson);
    });
  } catch (error) {
    if (error instanceof BotFailure) return { ...fail(error.code, error.message), ...logsOf(io) };
    // A trap inside the engine (the module is already retired): report it as the bot's resource failure.
    return fail(
      'ERR_BOT_MEMORY',
      `sandbox engine fault: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    posts: io.posts,
    state: io.stateChanged ? io.state : input.state,
    stateChanged: io.stateChanged,
    randomCounter: stream.counter,
    ...logsOf(io),
  };
}

interface HookIo {
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

function logsOf(io: HookIo): { logs?: string[] } {
  return io.logs.length > 0 ? { logs: io.logs } : {};
}

function executeHook(
  run: SandboxRun,
  io: HookIo,
  input: BotHookInput,
  paramsJson: string,
  eventJson: string,
): void {
  try {
    callHook(run, io, input, paramsJson, eventJson);
  } catch (error) {
    // A host-side error (e.g. a bot getter interrupted inside vm.getProp) after the budget ran out is a timeout.
    const stop = run.stopped();
    if (!(error instanceof BotFailure) && stop) throw timeout(stop);
    throw error;
  }
  const stop = run.stopped();
  if (stop) throw timeout(stop);
  if (io.outputProblem !== undefined) throw new BotFailure('ERR_BOT_OUTPUT', io.outputProblem);
}

function callHook(
  run: SandboxRun,
  io: HookIo,
  input: BotHookInput,
  paramsJson: string,
  eventJson: string,
): void {
  const { vm } = run;
  const runHook = installPrelude(run, io);
  try {
    const bot = loadBotClass(run, input.source);
    try {
      const args = [vm.newString(input.hook), vm.newString(paramsJson), vm.newString(eventJson)];
      const result = vm.callFunction(runHook, vm.undefined, bot, ...args);
      for (const arg of args) arg.dispose();
      if (result.error) throw classify(run, io, result.error, 'ERR_BOT_THROWN');
      settle(run, io, result.value);
    } finally {
      bot.dispose();
    }
  } finally {
    runHook.dispose();
  }
}

/** Waits for a returned promise (async hooks) and drains the job queue; disposes `value`. */
function settle(run: SandboxRun, io: HookIo, value: QuickJSHandle): void {
  const { vm, runtime } = run;
  try {
    drainJobs(run, io);
    const state = vm.getPromiseState(value);
    if (state.type === 'fulfilled' && state.notAPromise) return;
    if (state.type === 'pending')
      throw new BotFailure('ERR_BOT_THROWN', 'the hook returned a promise that never settled');
    if (state.type === 'rejected') throw classify(run, io, state.error, 'ERR_BOT_THROWN');
    state.value.dispose();
    if (runtime.hasPendingJob()) drainJobs(run, io);
  } finally {
    value.dispose();
  }
}

function drainJobs(run: SandboxRun, io: HookIo): void {
  const error = run.drainJobs();
  if (error) throw classify(run, io, error, 'ERR_BOT_THROWN');
  const stop = run.stopped();
  if (stop) throw timeout(stop);
}

function loadBotClass(run: SandboxRun, source: string): QuickJSHandle {
  const { vm } = run;
  const isModule = MODULE_SYNTAX.test(source);
  const evaluated = vm.evalCode(source, 'bot.js', { type: isModule ? 'module' : 'global', strict: isModule });
  if (evaluated.error) throw classify(run, { outputProblem: undefined }, evaluated.error, 'ERR_BOT_SOURCE');
  let namespace = evaluated.value;
  if (isModule) {
    const state = vm.getPromiseState(namespace);
    if (!(state.type === 'fulfilled' && state.notAPromise)) {
      // top-level await: the namespace arrives through a promise
      const jobError = run.drainJobs();
      if (jobError) throw classify(run, {}, jobError, 'ERR_BOT_SOURCE');
      const settled = vm.getPromiseState(namespace);
      namespace.dispose();
      if (settled.type !== 'fulfilled') {
        if (settled.type === 'rejected') throw classify(run, {}, settled.error, 'ERR_BOT_SOURCE');
        throw new BotFailure('ERR_BOT_SOURCE', 'bot module never finished evaluating');
      }
      namespace = settled.value;
    }
  }
  try {
    const candidates: Array<() => QuickJSHandle> = [];
    if (isModule) {
      candidates.push(
        () => vm.getProp(namespace, 'default'),
        () => vm.getProp(namespace, 'Bot'),
      );
    }
    candidates.push(() => vm.getProp(vm.global, 'Bot'));
    const declared = [...source.matchAll(CLASS_DECL)].map((m) => m[1] ?? '').reverse();
    for (const name of declared) {
      candidates.push(() => {
        const found = vm.evalCode(`typeof ${name} === 'function' ? ${name} : undefined`, 'resolve.js');
        if (found.error) {
          found.error.dispose();
          return vm.undefined;
        }
        return found.value;
      });
    }
    for (const candidate of candidates) {
      let handle: QuickJSHandle;
      try {
        handle = candidate();
      } catch {
        const stop = run.stopped();
        if (stop) throw timeout(stop);
        continue; // a throwing getter is not a bot class
      }
      if (vm.typeof(handle) === 'function') return handle;
      handle.dispose();
    }
  } finally {
    namespace.dispose();
  }
  const stop = run.stopped();
  if (stop) throw timeout(stop);
  throw new BotFailure(
    'ERR_BOT_SOURCE',
    'no bot class found: declare a class, `export default class`, or assign globalThis.Bot',
  );
}

function timeout(stop: 'instructions' | 'wall'): BotFailure {
  return new BotFailure(
    'ERR_BOT_TIMEOUT',
    stop === 'instructions'
      ? 'the hook exceeded its instruction budget'
      : 'the hook exceeded its wall-clock limit',
  );
}

/** Turns a thrown sandbox value into a BotFailure; disposes the handle. */
function classify(
  run: SandboxRun,
  io: { outputProblem?: string },
  errorHandle: QuickJSHandle,
  fallback: 'ERR_BOT_THROWN' | 'ERR_BOT_SOURCE',
): BotFailure {
  const { vm } = run;
  let name = '';
  let message: string;
  let where = '';
  try {
    const type = vm.typeof(errorHandle);
    if (type === 'object' && vm.sameValue(errorHandle, vm.null)) {
      message = 'null thrown';
    } else if (type === 'object') {
      name = readString(vm, errorHandle, 'name');
      message = readString(vm, errorHandle, 'message') || (name ? '' : 'a non-Error object thrown');
      where = /(bot\.js:\d+:\d+)/.exec(readString(vm, errorHandle, 'stack'))?.[1] ?? '';
    } else if (type === 'string') {
      message = vm.getString(errorHandle);
    } else {
      message = `${type} thrown`;
    }
  } catch {
    message = 'unreadable error';
  } finally {
    errorHandle.dispose();
  }
  const stop = run.stopped();
  if (stop) return timeout(stop);
  if (name === 'InternalError' && MEMORY_MESSAGES.has(message)) {
    run.poison();
    return new BotFailure('ERR_BOT_MEMORY', `the hook ran out of memory (${message})`);
  }
  if (io.outputProblem !== undefined) return new BotFailure('ERR_BOT_OUTPUT', io.outputProblem);
  const text = `${name ? `${name}: ` : ''}${message}${where ? ` at ${where}` : ''}`.slice(0, 1000);
  if (fallback === 'ERR_BOT_SOURCE') {
    const unloadable =
      name === 'SyntaxError' || (name === 'ReferenceError' && message.startsWith('could not load module'));
    return new BotFailure(unloadable ? 'ERR_BOT_SOURCE' : 'ERR_BOT_THROWN', text);
  }
  return new BotFailure('ERR_BOT_THROWN', text);
}

function readString(vm: QuickJSContext, handle: QuickJSHandle, key: string): string {
  const value = vm.getProp(handle, key);
  try {
    return vm.typeof(value) === 'string' ? vm.getString(value).slice(0, 2000) : '';
  } finally {
    value.dispose();
  }
}

/** Evaluates the prelude with the host functions; returns the in-sandbox hook driver. */
function installPrelude(run: SandboxRun, io: HookIo): QuickJSHandle {
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
