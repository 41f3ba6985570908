// A pool of worker threads for sandboxed jobs with a hard wall-clock kill: a job still running at its timeout plus a
// grace period (stuck in a builtin the sandbox's interrupt handler never reaches, such as a huge sort) loses its
// worker, the job settles at once with what the owner says a killed job gives, and a replacement starts warming up
// right away. The kill timer starts when the worker has said it is warm, so a cold start never counts (a worker that
// never warms up is killed after BOOT_TIMEOUT_MS instead). It owns workers, queueing and the kill; what a job is, what
// its worker answers and what a failure gives belong to its owner (bot-worker-pool.ts, js-snippet-pool.ts).
import { Worker } from 'node:worker_threads';
import { McpcpError } from '../../lib/errors.ts';
import type { ErrorCode } from '../../lib/errors.ts';

/** What a worker posts once it can take jobs; every other message it posts answers a job. */
export interface WorkerReady {
  ready: true;
}

/** How a job's worker went: killed at its timeout, never warmed up, or stopped by itself (crash, heap limit). */
export type WorkerLoss = { kind: 'timeout' } | { kind: 'boot' } | { kind: 'crash'; why: string };

/** A job's final answer: a value to resolve with or an error to reject with. */
export type JobSettlement<Result> = { value: Result } | { error: Error };

export interface WorkerPoolSpec<Task, Result, Reply extends { id: number }> {
  /** The worker's entry module. */
  workerUrl: URL;
  /** Worker threads (jobs that may run at once). */
  size: number;
  /** Added to a job's timeout before its worker is killed. */
  graceMs: number;
  /**
   * 'always': every slot warms a worker at once and a lost worker is replaced at once, except one that died before it
   * was warm: that one is replaced after a backoff (0.1 s doubling to 30 s, reset once a worker warms up), so a worker
   * that can never start is not restarted in a tight loop. 'on-demand': a worker starts with the first job that needs
   * it; a killed or retired one is replaced at once, a crashed one by the next job.
   */
  warm: 'always' | 'on-demand';
  /** Jobs that may wait for a worker; more are refused with ERR_RUNNER_BUSY and `message`. Default unbounded. */
  queueLimit?: { jobs: number; message: string };
  /** What run() and close() refuse with once the pool is closed: `<name> is closed`, `<name> closed`. */
  closedCode: ErrorCode;
  name: string;
  /** The message that hands a job to its worker. */
  message(id: number, task: Task): unknown;
  /** The job's timeout once its worker is warm, without the grace. */
  timeoutMs(task: Task): number;
  /** The worker's answer for a job: its settlement, or undefined while more is to come (output as it arrives). */
  answer(task: Task, reply: Reply): JobSettlement<Result> | undefined;
  /** What a job whose worker was lost resolves with. */
  lost(task: Task, loss: WorkerLoss): Result;
  /** Message for a job its worker cannot be sent (not structured-cloneable): rejected with ERR_INVALID_ARGUMENT. */
  unsendableMessage: string;
  /** After a job's final answer (`ranMs` since it was sent): true retires the worker, which is replaced at once. */
  retire?(task: Task, reply: Reply, ranMs: number): boolean;
  /** A worker has just become warm. */
  onReady?(): void;
}

export interface WorkerPoolStatus {
  size: number;
  ready: number;
  running: number;
  queued: number;
  /** Workers started so far (replacements included). */
  started: number;
}

export interface WorkerPool<Task, Result> {
  run(task: Task): Promise<Result>;
  status(): WorkerPoolStatus;
  /** Terminates all workers; queued and running jobs are rejected. */
  close(): Promise<void>;
}

interface Job<Task, Result> {
  id: number;
  task: Task;
  /** When it was handed to a worker (performance.now()). */
  sentAt: number;
  resolve(result: Result): void;
  reject(error: Error): void;
}

interface Slot<Task, Result> {
  worker: Worker | undefined;
  /** The worker has said it is warm. */
  ready: boolean;
  job: Job<Task, Result> | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Workers of this slot that died before they were warm, in a row ('always' backs off on them). */
  coldDeaths: number;
  /** A replacement waiting out that backoff. */
  respawn: NodeJS.Timeout | undefined;
}

/** A worker that has not warmed up within this long counts as lost. */
const BOOT_TIMEOUT_MS = 30_000;
/** Backoff before replacing a worker that died cold: 100 ms doubling, at most this. */
const MAX_RESPAWN_DELAY_MS = 30_000;

export function createWorkerPool<Task, Result, Reply extends { id: number }>(
  spec: WorkerPoolSpec<Task, Result, Reply>,
): WorkerPool<Task, Result> {
  const size = Math.max(1, Math.floor(spec.size));
  const graceMs = Math.max(0, spec.graceMs);
  const maxQueue = Math.max(0, spec.queueLimit?.jobs ?? Infinity);
  const slots: Slot<Task, Result>[] = Array.from({ length: size }, () => ({
    worker: undefined,
    ready: false,
    job: undefined,
    timer: undefined,
    coldDeaths: 0,
    respawn: undefined,
  }));
  const queue: Job<Task, Result>[] = [];
  let nextId = 1;
  let started = 0;
  let closed = false;

  const settle = (job: Job<Task, Result>, settlement: JobSettlement<Result>): void => {
    if ('value' in settlement) job.resolve(settlement.value);
    else job.reject(settlement.error);
  };

  const finish = (slot: Slot<Task, Result>): Job<Task, Result> | undefined => {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    slot.worker?.unref();
    return job;
  };

  const discard = (slot: Slot<Task, Result>, replace: boolean): void => {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.ready = false;
    if (worker) {
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      void worker.terminate();
    }
    if (replace && !closed) spawn(slot); // warm before anyone needs it
  };

  /** Loses the slot's worker: its job (if any) resolves with what the owner says, the pool carries on. */
  const lose = (slot: Slot<Task, Result>, loss: WorkerLoss): void => {
    const job = finish(slot);
    const cold = !slot.ready && loss.kind !== 'timeout';
    if (spec.warm === 'always' && cold) {
      discard(slot, false);
      slot.coldDeaths += 1;
      const delay = Math.min(MAX_RESPAWN_DELAY_MS, 100 * 2 ** Math.min(slot.coldDeaths - 1, 9));
      slot.respawn = setTimeout(() => {
        slot.respawn = undefined;
        if (!closed && slot.worker === undefined) spawn(slot);
      }, delay);
      slot.respawn.unref();
    } else discard(slot, loss.kind !== 'crash' || spec.warm === 'always');
    job?.resolve(spec.lost(job.task, loss));
    dispatch();
  };

  function spawn(slot: Slot<Task, Result>): Worker {
    if (slot.respawn) clearTimeout(slot.respawn);
    slot.respawn = undefined;
    // A bounded JS heap: if host-side work for a job ever ran away, V8 stops this worker instead of the process.
    const worker = new Worker(spec.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    worker.unref(); // idle; referenced while it runs a job
    started += 1;
    slot.worker = worker;
    slot.ready = false;
    worker.on('message', (reply: WorkerReady | Reply) => {
      if ('ready' in reply) {
        slot.ready = true;
        slot.coldDeaths = 0;
        spec.onReady?.();
        if (slot.job && slot.worker === worker) startKillTimer(slot, slot.job);
        dispatch();
        return;
      }
      const job = slot.job;
      if (job?.id !== reply.id) return;
      const settlement = spec.answer(job.task, reply);
      if (settlement === undefined) return;
      finish(slot);
      // The job answered; what it left behind goes with the thread, and a fresh worker warms up meanwhile.
      if (spec.retire?.(job.task, reply, performance.now() - job.sentAt)) discard(slot, true);
      settle(job, settlement);
      dispatch();
    });
    const crashed = (why: string): void => {
      if (slot.worker === worker) lose(slot, { kind: 'crash', why });
    };
    worker.on('error', (error: Error) => crashed(error.message));
    worker.on('exit', (code) => crashed(`exit ${code}`));
    return worker;
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (closed || queue.length === 0) return;
      if (slot.job) continue;
      const job = queue.shift()!;
      const worker = slot.worker ?? spawn(slot);
      slot.job = job;
      job.sentAt = performance.now();
      worker.ref();
      try {
        worker.postMessage(spec.message(job.id, job.task));
      } catch (cause) {
        finish(slot);
        job.reject(new McpcpError('ERR_INVALID_ARGUMENT', spec.unsendableMessage, { cause }));
        continue;
      }
      startKillTimer(slot, job);
    }
  }

  /** Kills the worker if the job outlives its timeout + grace (counted from when the worker is warm). */
  function startKillTimer(slot: Slot<Task, Result>, job: Job<Task, Result>): void {
    if (slot.timer) clearTimeout(slot.timer);
    const kill = (loss: WorkerLoss): void => {
      if (slot.job === job) lose(slot, loss);
    };
    slot.timer = slot.ready
      ? setTimeout(() => kill({ kind: 'timeout' }), spec.timeoutMs(job.task) + graceMs)
      : setTimeout(() => kill({ kind: 'boot' }), BOOT_TIMEOUT_MS);
  }

  if (spec.warm === 'always') for (const slot of slots) spawn(slot);

  return {
    run(task) {
      if (closed) return Promise.reject(new McpcpError(spec.closedCode, `${spec.name} is closed`));
      if (spec.queueLimit && queue.length >= maxQueue) {
        return Promise.reject(new McpcpError('ERR_RUNNER_BUSY', spec.queueLimit.message));
      }
      return new Promise<Result>((resolve, reject) => {
        queue.push({ id: nextId++, task, sentAt: 0, resolve, reject });
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
      const closing = (): McpcpError => new McpcpError(spec.closedCode, `${spec.name} closed`);
      for (const job of queue.splice(0)) job.reject(closing());
      await Promise.all(
        slots.map(async (slot) => {
          if (slot.respawn) clearTimeout(slot.respawn);
          finish(slot)?.reject(closing());
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
