// The warm pool of Python interpreters. It keeps `size` interpreters loaded and locked down (restored from the
// pool's memory snapshot, pyodide-snapshot.ts), hands each one to exactly one run, and starts its replacement in
// the background the moment it is taken, so no run sees another's state and a caller waits for a cold start only
// when runs arrive faster than interpreters start. It owns lifecycle, queueing and start-up failures; the process
// and its limits are pyodide-process.ts's.
import { McpcpError } from '../../lib/errors.ts';
import type { OutputListener } from './code-run-types.ts';
import type { Logger } from '../../lib/log.ts';
import {
  pyodidePythonVersion,
  pyodideVersion,
  startPythonInterpreter,
  type PythonInterpreter,
  type PythonProcessLimits,
  type PythonRunOutcome,
  type PythonRunRequest,
} from './pyodide-process.ts';
import { makePyodideSnapshot, type PyodideSnapshot, type PythonInfo } from './pyodide-snapshot.ts';

export interface PythonPoolOptions {
  /** Interpreters kept loaded and waiting. Default 2. */
  size?: number;
  /** Programs that may run at once. Default: size. */
  maxRunning?: number;
  limits: PythonProcessLimits;
  /** Where the memory snapshot is cached (a private folder). */
  cacheDir: string;
  /** false: every interpreter loads cold (slower start, same behaviour). Default true. */
  snapshots?: boolean;
  /** Runs that may wait for an interpreter; more are refused with ERR_RUNNER_BUSY. Default 32. */
  maxQueue?: number;
  /** How long a run may wait for an interpreter. Default 60 s. */
  waitMs?: number;
  /** How long an interpreter may take to load before it counts as failed. Default 60 s. */
  startTimeoutMs?: number;
  logger?: Logger;
}

export interface PythonPoolStatus {
  size: number;
  ready: number;
  starting: number;
  running: number;
  queued: number;
  /** Interpreter processes started since the pool began (the snapshot maker not counted). */
  started: number;
  /** Start-ups that failed in a row (0 once one succeeds). */
  failures: number;
  snapshot: 'off' | 'making' | 'made' | 'cached' | 'failed';
}

export interface PythonPool {
  run(
    request: PythonRunRequest,
    options: { timeoutMs: number; onOutput?: OutputListener },
  ): Promise<PythonRunOutcome>;
  /** Versions and the importable stdlib (the stdlib list needs the snapshot; empty without it). */
  info(): Promise<PythonInfo>;
  status(): PythonPoolStatus;
  /** Resolves when `size` interpreters are ready (benchmarks and tests). */
  whenWarm(): Promise<void>;
  close(): Promise<void>;
}

interface Waiter {
  resolve(interpreter: PythonInterpreter): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** After this many failed start-ups in a row, waiting runs are failed instead of waiting on. */
const FAILURES_BEFORE_GIVING_UP = 3;

export function createPythonPool(options: PythonPoolOptions): PythonPool {
  const size = Math.max(1, Math.floor(options.size ?? 2));
  const maxRunning = Math.max(1, Math.floor(options.maxRunning ?? size));
  const maxQueue = Math.max(0, options.maxQueue ?? 32);
  const waitMs = options.waitMs ?? 60_000;
  const ready: PythonInterpreter[] = [];
  const waiters: Waiter[] = [];
  const warmListeners: (() => void)[] = [];
  let starting = 0;
  let running = 0;
  let started = 0;
  let failures = 0;
  let lastFailure: Error | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const live = new Set<PythonInterpreter>();
  let snapshotState: PythonPoolStatus['snapshot'] = options.snapshots === false ? 'off' : 'making';
  const closing = new AbortController();
  const snapshot: Promise<PyodideSnapshot | undefined> =
    options.snapshots === false
      ? Promise.resolve(undefined)
      : makePyodideSnapshot({
          cacheDir: options.cacheDir,
          limits: options.limits,
          signal: closing.signal,
        }).then(
          (made) => {
            snapshotState = made.cached ? 'cached' : 'made';
            return made;
          },
          (error: unknown) => {
            snapshotState = 'failed';
            if (closing.signal.aborted) return undefined;
            options.logger?.warn({ err: error }, 'Pyodide snapshot failed; interpreters load cold');
            return undefined;
          },
        );

  const notifyWarm = (): void => {
    if (ready.length < size) return;
    for (const listener of warmListeners.splice(0)) listener();
  };

  function fill(): void {
    while (!closed && retryTimer === undefined && ready.length + starting < size) startOne();
  }

  function startOne(): void {
    starting += 1;
    void snapshot.then((made) => {
      if (closed) {
        starting -= 1;
        return;
      }
      const interpreter = startPythonInterpreter({
        limits: options.limits,
        ...(made ? { snapshotFile: made.file } : {}),
        ...(options.startTimeoutMs === undefined ? {} : { readyTimeoutMs: options.startTimeoutMs }),
      });
      started += 1;
      live.add(interpreter);
      interpreter.onExit(() => {
        live.delete(interpreter);
        const index = ready.indexOf(interpreter);
        if (index >= 0) {
          ready.splice(index, 1); // died while waiting: replace it
          fill();
        }
      });
      interpreter.ready.then(
        () => {
          starting -= 1;
          failures = 0;
          if (closed) return interpreter.kill();
          ready.push(interpreter);
          dispatch();
          notifyWarm();
        },
        (error: Error) => {
          starting -= 1;
          if (closed) return;
          failures += 1;
          lastFailure = error;
          options.logger?.warn({ err: error, failures }, 'a Python interpreter failed to start');
          if (failures >= FAILURES_BEFORE_GIVING_UP) {
            for (const waiter of waiters.splice(0)) {
              clearTimeout(waiter.timer);
              waiter.reject(
                new McpcpError('ERR_RUNNER_UNAVAILABLE', `Python is unavailable: ${error.message}`, {
                  cause: error,
                }),
              );
            }
          }
          // back off before trying again, so a broken install does not spin
          const delay = Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
          retryTimer ??= setTimeout(() => {
            retryTimer = undefined;
            fill();
          }, delay);
          retryTimer.unref();
        },
      );
    });
  }

  function dispatch(): void {
    while (waiters.length > 0 && ready.length > 0 && running < maxRunning) {
      const waiter = waiters.shift()!;
      clearTimeout(waiter.timer);
      running += 1;
      waiter.resolve(ready.shift()!);
    }
    fill();
  }

  function acquire(): Promise<PythonInterpreter> {
    if (closed) return Promise.reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the Python pool is closed'));
    if (failures >= FAILURES_BEFORE_GIVING_UP && ready.length === 0) {
      return Promise.reject(
        new McpcpError(
          'ERR_RUNNER_UNAVAILABLE',
          `Python is unavailable: ${lastFailure?.message ?? 'unknown'}`,
        ),
      );
    }
    if (waiters.length >= maxQueue) {
      return Promise.reject(new McpcpError('ERR_RUNNER_BUSY', 'too many Python runs are waiting; try again'));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          reject(new McpcpError('ERR_RUNNER_BUSY', 'no Python interpreter became free in time; try again'));
        }, waitMs),
      };
      waiters.push(waiter);
      dispatch();
    });
  }

  fill();

  return {
    async run(request, runOptions) {
      const interpreter = await acquire();
      try {
        return await interpreter.run(request, runOptions);
      } finally {
        interpreter.kill();
        running -= 1;
        dispatch();
      }
    },
    async info() {
      const made = await snapshot;
      return made?.info ?? { python: pyodidePythonVersion(), pyodide: pyodideVersion(), stdlib: [] };
    },
    status: () => ({
      size,
      ready: ready.length,
      starting,
      running,
      queued: waiters.length,
      started,
      failures,
      snapshot: snapshotState,
    }),
    whenWarm() {
      if (ready.length >= size) return Promise.resolve();
      return new Promise((resolve) => warmListeners.push(resolve));
    },
    async close() {
      closed = true;
      closing.abort();
      if (retryTimer) clearTimeout(retryTimer);
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new McpcpError('ERR_RUNNER_UNAVAILABLE', 'the Python pool is closed'));
      }
      const exits = [...live].map(
        (interpreter) => new Promise<void>((resolve) => interpreter.onExit(resolve)),
      );
      for (const interpreter of live) interpreter.kill();
      ready.splice(0);
      await snapshot.catch(() => undefined);
      await Promise.all(exits);
    },
  };
}
