// How a failed bot hook is reported: the BotFailure carrying a stable ERR_BOT_* code, and the classification of a
// value thrown inside the sandbox (resource exhaustion, syntax, plain throws). The failure's `message` is always the
// server's own words; whatever text the bot chose (an error's name and message, a thrown string) goes in `botText`,
// which the channel records as quoted bot output, so a bot cannot make its words read as the server's.
// It must not run bot code itself, except reading `name`/`message`/`stack` of the thrown value (under the budget).
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import type { BotErrorCode } from './bot-hook-types.ts';
import type { SandboxRun, StopReason } from './quickjs-engine.ts';

const MEMORY_MESSAGES = new Set(['out of memory', 'string too long', 'stack overflow']);

/** The server's words for a hook that threw, and for a source that does not load; the bot's text is quoted apart. */
export const thrownMessage = 'the hook threw an error (its text is in bot_text, quoted bot output)';
export const sourceMessage = "the bot source does not load (the engine's text is in bot_text)";

export class BotFailure extends Error {
  readonly code: BotErrorCode;
  readonly botText: string | undefined;
  constructor(code: BotErrorCode, message: string, botText?: string) {
    super(message);
    this.code = code;
    this.botText = botText;
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
  io: { refusals?: ReadonlySet<string> },
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
  // A refused ctx.post / ctx.setState whose BotApiError the bot let escape: the server's own refusal text.
  if (name === 'BotApiError' && io.refusals?.has(message)) return new BotFailure('ERR_BOT_OUTPUT', message);
  const text = `${name ? `${name}: ` : ''}${message}${where ? ` at ${where}` : ''}`.slice(0, 1000);
  if (fallback === 'ERR_BOT_SOURCE') {
    const unloadable =
      name === 'SyntaxError' || (name === 'ReferenceError' && message.startsWith('could not load module'));
    if (unloadable) return new BotFailure('ERR_BOT_SOURCE', sourceMessage, text);
  }
  return new BotFailure('ERR_BOT_THROWN', thrownMessage, text);
}

function readString(vm: QuickJSContext, handle: QuickJSHandle, key: string): string {
  const value = vm.getProp(handle, key);
  try {
    return vm.typeof(value) === 'string' ? vm.getString(value).slice(0, 2000) : '';
  } finally {
    value.dispose();
  }
}
