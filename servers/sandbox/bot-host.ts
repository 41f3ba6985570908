// The front door for running bot hooks. `runBotHook` runs each hook in a worker thread (a fresh QuickJS sandbox
// there), so a hook stuck in a non-interruptible builtin cannot stall the caller's event loop, and a hard
// wall-clock kill (terminating the worker) backs up the sandbox's own instruction and wall budgets.
// It owns the choice of runner; the sandbox rules live in bot-hook-inprocess.ts, the workers in bot-worker-pool.ts.
import { runBotHookInProcess } from './bot-hook-inprocess.ts';
import type { BotHookInput, BotHookOutput } from './bot-hook-types.ts';
import { createBotWorkerPool } from './bot-worker-pool.ts';
import type { BotWorkerPool } from './bot-worker-pool.ts';

export type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';
export { runBotHookInProcess };

export interface BotHostOptions {
  /** 'worker' (default): hooks run in worker threads with a hard kill. 'in-process': on the calling thread. */
  mode?: 'worker' | 'in-process';
  /** Worker threads when mode is 'worker'. Default 1. */
  workers?: number;
}

let options: BotHostOptions = { mode: 'worker', workers: 1 };
let pool: BotWorkerPool | undefined;

/** Chooses how later hooks run; closes the current workers. */
export async function configureBotHost(next: BotHostOptions): Promise<void> {
  options = { ...options, ...next };
  await closeBotHost();
}

/** Stops the worker threads (idle workers never keep the process alive; this is for tidy shutdowns). */
export async function closeBotHost(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.close();
}

/** Starts the worker and QuickJS now (a cold first hook costs ~100–400 ms); servers call it at startup. */
export async function warmBotHost(): Promise<void> {
  const out = await runBotHook({
    source: 'class Warm {}',
    params: null,
    hook: 'init',
    event: null,
    state: null,
    randomKey: '00'.repeat(16),
    randomCounter: 0,
    now: 0,
  });
  if (out.error) throw new Error(`bot host failed to warm up: ${out.error.message}`);
}

export function runBotHook(input: BotHookInput): Promise<BotHookOutput> {
  if (options.mode === 'in-process') return runBotHookInProcess(input);
  pool ??= createBotWorkerPool({ size: options.workers ?? 1 });
  return pool.run(input);
}
