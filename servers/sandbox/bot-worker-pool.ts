// The worker pool behind runBotHook (worker-pool.ts does the threads, queueing and the hard wall-clock kill): a hook
// that has not answered within its wallMs plus a short grace (stuck in a builtin the interrupt handler cannot reach,
// such as sorting a huge array) fails with ERR_BOT_TIMEOUT at once, so a poster hears back within wallMs + grace.
// Memory: what a hook leaves resident in its worker (the touched pages of the sandbox's fixed wasm memory, a module
// retired after a memory failure, host copies of big strings) goes back to the OS only when that thread ends, so a
// worker is replaced after the hook that made the process grow past `recycleAfterGrowthBytes` since the last worker
// was warm (RSS read here, on the pool's thread, after a hook that failed or took 2 ms or more).
// It owns what a hook's job, answer and failure are; the sandbox rules live in bot-hook-inprocess.ts.
import { McpcpError, errorCodes } from '../../lib/errors.ts';
import type { ErrorCode } from '../../lib/errors.ts';
import type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';
import { resolveBotLimits } from './bot-limits.ts';
import type { BotWorkerRequest } from './bot-worker.ts';
import { createWorkerPool, type WorkerLoss } from './worker-pool.ts';

export interface BotWorkerPoolOptions {
  /** Worker threads (hooks that may run at once). Default 1. */
  size?: number;
  /**
   * Added to a hook's wallMs before the worker is killed. Default 200 ms: enough for the sandbox's own wall-clock
   * stop (polled every ~10,000 operations) to answer first when it can; the timer starts once the worker is warm,
   * so a cold start never counts.
   */
  graceMs?: number;
  /**
   * Replace the worker that just answered when the process's RSS has grown by more than this since a worker last
   * became warm. Default 64 MiB (a warm worker itself costs ~15 MiB; ordinary hooks leave almost nothing).
   */
  recycleAfterGrowthBytes?: number;
}

export interface BotWorkerPool {
  run(input: BotHookInput): Promise<BotHookOutput>;
  /** Terminates all workers; queued hooks are rejected. */
  close(): Promise<void>;
  /** Workers started so far (tests watch replacements). */
  readonly workersStarted: number;
  /** Workers replaced because the process had grown past recycleAfterGrowthBytes. */
  readonly workersRecycled: number;
}

type BotWorkerReply =
  { id: number; output: BotHookOutput } | { id: number; error: { code: string; message: string } };

const workerUrl = new URL('./bot-worker.ts', import.meta.url);

function failed(input: BotHookInput, code: BotErrorCode, message: string): BotHookOutput {
  return {
    posts: [],
    state: input.state,
    stateChanged: false,
    randomCounter: input.randomCounter,
    error: { code, message },
  };
}

function lost(input: BotHookInput, loss: WorkerLoss): BotHookOutput {
  switch (loss.kind) {
    case 'timeout':
      return failed(input, 'ERR_BOT_TIMEOUT', 'the hook exceeded its wall-clock limit (worker stopped)');
    case 'boot':
      return failed(input, 'ERR_BOT_MEMORY', 'the sandbox worker did not start');
    case 'crash':
      return failed(input, 'ERR_BOT_MEMORY', `the sandbox worker stopped (${loss.why})`);
  }
}

/**
 * Reading RSS costs ~20-60 µs, a third of an ordinary hook, so it is read only after a hook that failed or took
 * 2 ms or more: touching tens of MiB of fresh pages takes longer than that.
 */
function mayHaveGrown(reply: BotWorkerReply, ranMs: number): boolean {
  if (!('output' in reply) || reply.output.error !== undefined) return true;
  return ranMs >= 2;
}

export function createBotWorkerPool(options: BotWorkerPoolOptions = {}): BotWorkerPool {
  const recycleAfter = Math.max(0, options.recycleAfterGrowthBytes ?? 64 * 1024 * 1024);
  /** The process's RSS when a worker last became warm: the growth a recycle answers is measured from here. */
  let baselineRss: number | undefined;
  let recycled = 0;
  const grownPastLimit = (): boolean =>
    baselineRss !== undefined && process.memoryUsage.rss() - baselineRss > recycleAfter;

  const pool = createWorkerPool<BotHookInput, BotHookOutput, BotWorkerReply>({
    workerUrl,
    size: options.size ?? 1,
    graceMs: options.graceMs ?? 200,
    warm: 'on-demand',
    closedCode: 'ERR_INTERNAL',
    name: 'bot worker pool',
    message: (id, input): BotWorkerRequest => ({ id, input }),
    timeoutMs: (input) => resolveBotLimits(input.limits).wallMs,
    answer(_input, reply) {
      if ('output' in reply) return { value: reply.output };
      const code = (errorCodes as readonly string[]).includes(reply.error.code)
        ? (reply.error.code as ErrorCode)
        : 'ERR_INTERNAL';
      return { error: new McpcpError(code, reply.error.message) };
    },
    lost,
    unsendableMessage: 'bot hook input is not cloneable JSON',
    retire(_input, reply, ranMs) {
      if (!mayHaveGrown(reply, ranMs) || !grownPastLimit()) return false;
      recycled += 1;
      return true;
    },
    onReady() {
      baselineRss = process.memoryUsage.rss();
    },
  });

  return {
    run: (input) => pool.run(input),
    close: () => pool.close(),
    get workersStarted() {
      return pool.status().started;
    },
    get workersRecycled() {
      return recycled;
    },
  };
}
