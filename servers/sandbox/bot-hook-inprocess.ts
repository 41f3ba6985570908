// Runs ONE bot hook (init, join or message) in a pristine QuickJS sandbox on the calling thread (a prepared context
// restored from its snapshot, sandbox-template.ts) and returns what the bot posted and stored.
// It owns input checks, locating the bot class, calling the hook and settling its promises; the ctx.* bridge is in
// bot-bridge.ts and the ERR_BOT_* classification in bot-errors.ts.
// It must not touch channels, storage or the network: the caller persists state and randomCounter between hooks.
//
// A hook is atomic: on any error nothing applies (posts: [], state unchanged, randomCounter unchanged).
//
// Events the channel passes (documented shape; the bridge carries any JSON):
//   init    → onInit(event)      event: { channelId?, slots? } or null
//   join    → onJoin(event)      event: { slot: string, agent?: string }
//   message → onMessage(event)   event: { seq?, slot: string, agent?, kind: string, body: unknown, ts? }
import type { QuickJSHandle } from 'quickjs-emscripten';
import { McpcpError } from '../../lib/errors.ts';
import { installBridge } from './bot-bridge.ts';
import type { BridgeSlot, HookIo } from './bot-bridge.ts';
import { BotFailure, classify, timeout } from './bot-errors.ts';
import { botOutputLimits } from './bot-output.ts';
import { resolveBotLimits } from './bot-limits.ts';
import type { SandboxRun } from './quickjs-engine.ts';
import { createSandboxTemplate } from './sandbox-template.ts';
import type { SandboxTemplate } from './sandbox-template.ts';
import { createRandomStream } from './random-stream.ts';
import type { RandomStream } from './random-stream.ts';
import type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';

const HOOKS = new Set(['init', 'join', 'message']);
const IDENT = '[A-Za-z_$][\\w$]*';
const CLASS_DECL = new RegExp(`^[ \\t]*(?:export[ \\t]+default[ \\t]+)?class[ \\t]+(${IDENT})`, 'gm');
const MODULE_SYNTAX = /^[ \t]*(?:export|import)[\s{*]/m;

/** A context with the bridge and prelude installed, and the slot its host functions serve. */
interface BotContext {
  slot: BridgeSlot;
  runHook: QuickJSHandle;
  release(): void;
}

function createBotSandbox(snapshots: boolean): SandboxTemplate<BotContext> {
  return createSandboxTemplate<BotContext>({
    snapshots,
    prepare: (vm) => {
      const slot: BridgeSlot = {};
      return { slot, ...installBridge(vm, slot) };
    },
    release: (context) => context.release(),
  });
}

let botSandbox = createBotSandbox(true);

/**
 * snapshots (default true): hooks start from a restored snapshot of a prepared context; false: a new runtime +
 * context and prelude per hook (slower, the same results; tests compare the two).
 */
export function configureBotSandbox(options: { snapshots: boolean }): void {
  botSandbox = createBotSandbox(options.snapshots);
}

/** Instantiates and prepares the bot sandbox on this thread, so the first hook does not pay for it. */
export function warmBotSandbox(): Promise<void> {
  return botSandbox.warm();
}

/** Runs the hook on this thread. Prefer runBotHook (bot-host.ts), which adds a worker and a hard wall-clock kill. */
export async function runBotHookInProcess(input: BotHookInput): Promise<BotHookOutput> {
  const fail = (code: BotErrorCode, message: string, botText?: string): BotHookOutput => ({
    posts: [],
    state: input.state,
    stateChanged: false,
    randomCounter: input.randomCounter,
    error: { code, message, ...(botText === undefined ? {} : { botText }) },
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
    paramsJson = JSON.stringify(input.params ?? null) ?? 'null';
    eventJson = JSON.stringify(input.event ?? null) ?? 'null';
    stateJson = JSON.stringify(input.state ?? null) ?? 'null';
  } catch (cause) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'bot hook input is not valid', { cause });
  }
  if (!Number.isFinite(input.now))
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'bot hook needs a finite now');

  const limits = resolveBotLimits(input.limits);
  const io: HookIo = {
    stream,
    now: input.now,
    stateJson,
    state: input.state,
    stateChanged: false,
    posts: [],
    logs: [],
    refusals: new Set(),
  };
  let failure: BotFailure | undefined;
  try {
    // A bot's failure is a value here, not a throw: the sandbox retires its wasm module on anything thrown.
    failure = await botSandbox.run(limits, (run, context) => {
      context.slot.run = run;
      context.slot.io = io;
      try {
        executeHook(run, io, context.runHook, input, paramsJson, eventJson);
        return undefined;
      } catch (error) {
        if (error instanceof BotFailure) return error;
        throw error;
      } finally {
        context.slot.run = undefined;
        context.slot.io = undefined;
      }
    });
  } catch (error) {
    // A trap inside the engine (the module is already retired): report it as the bot's resource failure.
    return fail(
      'ERR_BOT_MEMORY',
      `sandbox engine fault: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (failure) return { ...fail(failure.code, failure.message, failure.botText), ...logsOf(io) };
  return {
    posts: io.posts,
    state: io.stateChanged ? io.state : input.state,
    stateChanged: io.stateChanged,
    randomCounter: stream.counter,
    ...logsOf(io),
  };
}

function logsOf(io: HookIo): { logs?: string[] } {
  return io.logs.length > 0 ? { logs: io.logs } : {};
}

function executeHook(
  run: SandboxRun,
  io: HookIo,
  runHook: QuickJSHandle,
  input: BotHookInput,
  paramsJson: string,
  eventJson: string,
): void {
  try {
    callHook(run, io, runHook, input, paramsJson, eventJson);
  } catch (error) {
    // A host-side error (e.g. a bot getter interrupted inside vm.getProp) after the budget ran out is a timeout.
    const stop = run.stopped();
    if (!(error instanceof BotFailure) && stop) throw timeout(stop);
    throw error;
  }
  const stop = run.stopped();
  if (stop) throw timeout(stop);
}

function callHook(
  run: SandboxRun,
  io: HookIo,
  runHook: QuickJSHandle,
  input: BotHookInput,
  paramsJson: string,
  eventJson: string,
): void {
  const { vm } = run;
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
  if (evaluated.error) throw classify(run, {}, evaluated.error, 'ERR_BOT_SOURCE');
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
