// A small pool of worker threads that run bot hooks, with a hard wall-clock kill: if a hook has not answered within
// its wallMs plus a short grace (it is stuck in a builtin the interrupt handler cannot reach, such as sorting a huge
// array), the worker is terminated, the hook fails with ERR_BOT_TIMEOUT at once, and a fresh worker starts warming
// up right away, so the next hook does not wait for one either: a poster hears back within wallMs + grace.
// Memory: what a hook leaves resident in its worker (the touched pages of the sandbox's fixed wasm memory, a module
// retired after a memory failure, host copies of big strings) goes back to the OS only when that thread ends, so a
// worker is replaced after the hook that made the process grow past `recycleAfterGrowthBytes` since the last worker
// was warm (RSS read here, on the pool's thread, after a hook that failed or took 2 ms or more).
// It owns worker lifecycle and queueing only; the sandbox rules live in bot-hook-inprocess.ts.
import { Worker } from 'node:worker_threads';
import { McpcpError, errorCodes } from '../../lib/errors.ts';
import type { ErrorCode } from '../../lib/errors.ts';
import type { BotErrorCode, BotHookInput, BotHookOutput } from './bot-hook-types.ts';
import { resolveBotLimits } from './bot-limits.ts';

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

interface Job {
  id: number;
  input: BotHookInput;
  /** When it was handed to a worker (performance.now()). */
  sentAt?: number;
  resolve: (output: BotHookOutput) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  /** The worker has compiled and instantiated QuickJS. */
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

type WorkerReply =
  | { ready: true }
  | { id: number; output: BotHookOutput }
  | { id: number; error: { code: string; message: string } };

/** A worker that has not warmed up within this long is treated as crashed. */
const BOOT_TIMEOUT_MS = 30_000;

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

export function createBotWorkerPool(options: BotWorkerPoolOptions = {}): BotWorkerPool {
  const size = Math.max(1, Math.floor(options.size ?? 1));
  const graceMs = Math.max(0, options.graceMs ?? 200);
  const recycleAfter = Math.max(0, options.recycleAfterGrowthBytes ?? 64 * 1024 * 1024);
  /** The process's RSS when a worker last became warm: the growth a recycle answers is measured from here. */
  let baselineRss: number | undefined;
  let recycled = 0;
  const slots: Slot[] = Array.from({ length: size }, () => ({
    worker: undefined,
    ready: false,
    job: undefined,
    timer: undefined,
  }));
  const queue: Job[] = [];
  let nextId = 1;
  let started = 0;
  let closed = false;

  const finish = (slot: Slot): Job | undefined => {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    slot.worker?.unref();
    return job;
  };

  const discard = (slot: Slot): void => {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.ready = false;
    if (worker) {
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      void worker.terminate();
    }
  };

  const spawn = (slot: Slot): Worker => {
    // A bounded JS heap: if host-side work for a bot ever ran away, V8 stops this worker instead of the process.
    const worker = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    started += 1;
    slot.ready = false;
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        baselineRss = process.memoryUsage.rss();
        if (slot.job && slot.worker === worker) startKillTimer(slot, slot.job);
        return;
      }
      if (slot.job?.id !== reply.id) return;
      const job = finish(slot);
      if (job !== undefined && mayHaveGrown(job, reply) && grownPastLimit()) {
        // The hook answered; its leftovers go with the thread, and a fresh worker warms up meanwhile.
        discard(slot);
        warmReplacement(slot);
        recycled += 1;
      }
      if ('output' in reply) job?.resolve(reply.output);
      else {
        const code = (errorCodes as readonly string[]).includes(reply.error.code)
          ? (reply.error.code as ErrorCode)
          : 'ERR_INTERNAL';
        job?.reject(new McpcpError(code, reply.error.message));
      }
      dispatch();
    });
    const crashed = (why: string): void => {
      if (slot.worker !== worker) return;
      discard(slot);
      const job = finish(slot);
      job?.resolve(failed(job.input, 'ERR_BOT_MEMORY', `the sandbox worker stopped (${why})`));
      dispatch();
    };
    worker.on('error', (error: Error) => crashed(error.message));
    worker.on('exit', (code) => crashed(`exit ${code}`));
    return worker;
  };

  function dispatch(): void {
    for (const slot of slots) {
      if (closed || queue.length === 0) return;
      if (slot.job) continue;
      const job = queue.shift()!;
      const worker = slot.worker ?? spawn(slot);
      slot.worker = worker;
      slot.job = job;
      job.sentAt = performance.now();
      worker.ref();
      try {
        worker.postMessage({ id: job.id, input: job.input });
      } catch (cause) {
        finish(slot);
        job.reject(new McpcpError('ERR_INVALID_ARGUMENT', 'bot hook input is not cloneable JSON', { cause }));
        continue;
      }
      startKillTimer(slot, job);
    }
  }

  /**
   * Reading RSS costs ~20-60 µs, a third of an ordinary hook, so it is read only after a hook that failed or took
   * 2 ms or more: touching tens of MiB of fresh pages takes longer than that.
   */
  function mayHaveGrown(job: Job, reply: WorkerReply): boolean {
    if (!('output' in reply) || reply.output.error !== undefined) return true;
    return performance.now() - (job.sentAt ?? 0) >= 2;
  }

  function grownPastLimit(): boolean {
    return baselineRss !== undefined && process.memoryUsage.rss() - baselineRss > recycleAfter;
  }

  /** Starts a worker for an emptied slot now (unreferenced while idle), unless the next queued hook starts one. */
  function warmReplacement(slot: Slot): void {
    if (closed || queue.length > 0) return;
    slot.worker = spawn(slot);
    slot.worker.unref();
  }

  /** Kills the worker if the hook outlives wallMs + grace (counted from when the worker is warm). */
  function startKillTimer(slot: Slot, job: Job): void {
    if (slot.timer) clearTimeout(slot.timer);
    const wallMs = resolveBotLimits(job.input.limits).wallMs;
    const kill = (message: string, code: BotErrorCode): void => {
      if (slot.job !== job) return;
      discard(slot);
      finish(slot);
      job.resolve(failed(job.input, code, message));
      warmReplacement(slot);
      dispatch();
    };
    slot.timer = slot.ready
      ? setTimeout(
          () => kill('the hook exceeded its wall-clock limit (worker stopped)', 'ERR_BOT_TIMEOUT'),
          wallMs + graceMs,
        )
      : setTimeout(() => kill('the sandbox worker did not start', 'ERR_BOT_MEMORY'), BOOT_TIMEOUT_MS);
  }

  return {
    run(input) {
      if (closed) return Promise.reject(new McpcpError('ERR_INTERNAL', 'bot worker pool is closed'));
      return new Promise<BotHookOutput>((resolve, reject) => {
        queue.push({ id: nextId++, input, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new McpcpError('ERR_INTERNAL', 'bot worker pool closed'));
      await Promise.all(
        slots.map(async (slot) => {
          const job = finish(slot);
          job?.reject(new McpcpError('ERR_INTERNAL', 'bot worker pool closed'));
          const worker = slot.worker;
          slot.worker = undefined;
          if (worker) {
            worker.removeAllListeners();
            await worker.terminate();
          }
        }),
      );
    },
    get workersStarted() {
      return started;
    },
    get workersRecycled() {
      return recycled;
    },
  };
}
