// The concurrency limit: at most `running` operations hold a slot, up to `queued` more wait in order (first come,
// first served) for at most queueTimeoutMs; anything beyond is refused at once with ERR_RUNNER_BUSY. It must not know
// what the operations are.
import { McpcpError } from '../../lib/errors.ts';

export type Release = () => void;

export interface Gate {
  /** Resolves with a release function once a slot is free; rejects when the queue is full, on timeout or abort. */
  acquire(signal?: AbortSignal): Promise<Release>;
  readonly running: number;
  readonly queued: number;
}

interface Waiter {
  grant(release: Release): void;
}

export function createGate(options: { running: number; queued: number; queueTimeoutMs: number }): Gate {
  let running = 0;
  const waiting: Waiter[] = [];

  function releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next === undefined) running -= 1;
      else next.grant(releaser());
    };
  }

  return {
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
    acquire(signal) {
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      if (running < options.running) {
        running += 1;
        return Promise.resolve(releaser());
      }
      if (waiting.length >= options.queued) {
        return Promise.reject(
          new McpcpError(
            'ERR_RUNNER_BUSY',
            `the runner is busy (${running} running, ${waiting.length} waiting); try again later`,
          ),
        );
      }
      return new Promise<Release>((resolve, reject) => {
        const leave = (error: Error) => {
          const at = waiting.indexOf(waiter);
          if (at >= 0) waiting.splice(at, 1);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        };
        const onAbort = () => leave(signal?.reason as Error);
        const timer = setTimeout(
          () =>
            leave(
              new McpcpError(
                'ERR_RUNNER_BUSY',
                `waited ${options.queueTimeoutMs} ms for a free slot (${running} running); try again later`,
              ),
            ),
          options.queueTimeoutMs,
        );
        const waiter: Waiter = {
          grant(release) {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        waiting.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
