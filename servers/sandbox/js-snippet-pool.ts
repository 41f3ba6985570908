// Worker threads that run the code runner's JavaScript programs (js-snippet-worker.ts), warm from the start, with a
// hard wall-clock kill: a program still running at its timeout plus a grace period (stuck in a builtin QuickJS's
// interrupt handler never reaches, such as a huge sort) loses its worker, which is replaced at once. Output is
// collected here as it arrives, so a killed program still reports what it wrote. It owns workers and queueing; the
// sandbox rules live in js-snippet.ts. (It mirrors bot-worker-pool.ts, whose job and reply types are the bots'.)
import { Worker } from 'node:worker_threads';
import { McpcpError } from '../../lib/errors.ts';
import {
  createOutputCollector,
  type CodeRunOutcome,
  type OutputListener,
  type OutputCollector,
} from './code-run-types.ts';
import type { JsSnippetRequest } from './js-snippet.ts';
import type { JsWorkerReply } from './js-snippet-worker.ts';

export interface JsSnippetPoolOptions {
  /** Worker threads (programs that may run at once). Default 1. */
  size?: number;
  /** Added to a program's timeout before its worker is killed. Default 1000 ms. */
  graceMs?: number;
  /** Programs that may wait for a worker; more are refused with ERR_RUNNER_BUSY. Default 64. */
  maxQueue?: number;
}

export interface JsSnippetPoolStatus {
  size: number;
  ready: number;
  running: number;
  queued: number;
  /** Workers started so far (replacements after a hard kill included). */
  started: number;
}

export interface JsSnippetPool {
  run(request: JsSnippetRequest, onOutput?: OutputListener): Promise<CodeRunOutcome>;
  status(): JsSnippetPoolStatus;
  close(): Promise<void>;
}

interface Job {
  id: number;
  request: JsSnippetRequest;
  output: OutputCollector;
  started: number;
  resolve(outcome: CodeRunOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker | undefined;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

const workerUrl = new URL('./js-snippet-worker.ts', import.meta.url);
/** A worker that has not warmed up within this long counts as crashed. */
const BOOT_TIMEOUT_MS = 30_000;

export function createJsSnippetPool(options: JsSnippetPoolOptions = {}): JsSnippetPool {
  const size = Math.max(1, Math.floor(options.size ?? 1));
  const graceMs = Math.max(0, options.graceMs ?? 1000);
  const maxQueue = Math.max(0, options.maxQueue ?? 64);
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

  const ended = (job: Job, body: Partial<CodeRunOutcome> & Pick<CodeRunOutcome, 'exit_reason'>): void => {
    job.resolve({
      result: null,
      ...body,
      stdout: job.output.stdout,
      stderr: job.output.stderr,
      duration_ms: Math.round(performance.now() - job.started),
    });
  };

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
    if (!closed) spawn(slot); // a warm replacement, before anyone needs it
  };

  function spawn(slot: Slot): void {
    // A bounded JS heap: host-side work for a program cannot grow this worker past it.
    const worker = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    worker.unref();
    started += 1;
    slot.worker = worker;
    slot.ready = false;
    worker.on('message', (reply: JsWorkerReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.job) startKillTimer(slot, slot.job);
        dispatch();
        return;
      }
      const job = slot.job;
      if (job?.id !== reply.id) return;
      if ('out' in reply) {
        job.output.add(reply.out.stream, reply.out.text);
        return;
      }
      finish(slot);
      const { stdout: _stdout, stderr: _stderr, duration_ms: _duration, ...rest } = reply.outcome;
      ended(job, rest);
      dispatch();
    });
    const crashed = (why: string): void => {
      if (slot.worker !== worker) return;
      const job = finish(slot);
      discard(slot);
      if (job) {
        ended(job, {
          exit_reason: 'memory',
          error: { type: 'EngineFault', message: `the JavaScript worker stopped (${why})`, traceback: '' },
        });
      }
      dispatch();
    };
    worker.on('error', (error: Error) => crashed(error.message));
    worker.on('exit', (code) => crashed(`exit ${code}`));
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (closed || queue.length === 0) return;
      if (slot.job || !slot.worker) continue;
      const job = queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, request: job.request });
      startKillTimer(slot, job);
    }
  }

  /** Kills the worker if the program outlives its timeout + grace (counted from when the worker is warm). */
  function startKillTimer(slot: Slot, job: Job): void {
    if (slot.timer) clearTimeout(slot.timer);
    const kill = (exit: 'timeout' | 'memory', message?: string): void => {
      if (slot.job !== job) return;
      finish(slot);
      discard(slot);
      ended(job, {
        exit_reason: exit,
        ...(message ? { error: { type: 'EngineFault', message, traceback: '' } } : {}),
      });
      dispatch();
    };
    slot.timer = slot.ready
      ? setTimeout(() => kill('timeout'), job.request.timeoutMs + graceMs)
      : setTimeout(() => kill('memory', 'the JavaScript worker did not start'), BOOT_TIMEOUT_MS);
  }

  for (const slot of slots) spawn(slot);

  return {
    run(request, onOutput) {
      if (closed)
        return Promise.reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the JavaScript pool is closed'));
      if (queue.length >= maxQueue) {
        return Promise.reject(
          new McpcpError('ERR_RUNNER_BUSY', 'too many JavaScript runs are waiting; try again'),
        );
      }
      return new Promise<CodeRunOutcome>((resolve, reject) => {
        queue.push({
          id: nextId++,
          request,
          output: createOutputCollector(request.outputMaxBytes, onOutput),
          started: performance.now(),
          resolve,
          reject,
        });
        dispatch();
      });
    },
    status: () => ({
      size,
      ready: slots.filter((slot) => slot.ready && !slot.job).length,
      running: slots.filter((slot) => slot.job).length,
      queued: queue.length,
      started,
    }),
    async close() {
      closed = true;
      for (const job of queue.splice(0))
        job.reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the JavaScript pool closed'));
      await Promise.all(
        slots.map(async (slot) => {
          const job = finish(slot);
          job?.reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the JavaScript pool closed'));
          const worker = slot.worker;
          slot.worker = undefined;
          if (worker) {
            worker.removeAllListeners();
            await worker.terminate();
          }
        }),
      );
    },
  };
}
