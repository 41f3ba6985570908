// How a failed bot hook is reported: the BotFailure carrying a stable ERR_BOT_* code, and the classification of a
// value thrown inside the sandbox (resource exhaustion, syntax, plain throws). It must not run bot code itself,
// except reading `name`/`message`/`stack` of the thrown value (still under the run's budget).
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import type { BotErrorCode } from './bot-hook-types.ts';
import type { SandboxRun, StopReason } from './quickjs-engine.ts';

const MEMORY_MESSAGES = new Set(['out of memory', 'string too long', 'stack overflow']);

export class BotFailure extends Error {
  readonly code: BotErrorCode;
  constructor(code: BotErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function timeout(stop: StopReason): BotFailure {
  return new BotFailure(
    'ERR_BOT_TIMEOUT',
    stop === 'instructions'
      ? 'the hook exceeded its instruction budget'
      : 'the hook exceeded its wall-clock limit',
  );
}

/** Turns a thrown sandbox value into a BotFailure; disposes the handle. */
export function classify(
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
