// The front door for running bot hooks: `runBotHook` runs each hook in a worker thread (in a fresh QuickJS
// sandbox there) so a hook that blocks inside a non-interruptible builtin cannot stall the caller's event loop,
// and a hard wall-clock kill (terminate the worker) backs up the sandbox's own budgets.
// It owns dispatch and the kill; the sandbox rules live in bot-hook-inprocess.ts.
import { runBotHookInProcess } from './bot-hook-inprocess.ts';
import type { BotHookInput, BotHookOutput } from './bot-hook-types.ts';

export type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';
export { runBotHookInProcess };

export function runBotHook(input: BotHookInput): Promise<BotHookOutput> {
  return runBotHookInProcess(input);
}
