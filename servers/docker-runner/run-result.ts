// The answer of a run or an exec, and the decision of why it ended. Pure; run-container.ts and exec.ts fill it in.
import type { Duplex } from 'node:stream';
import type { OutputChunk } from './output.ts';

export type ExitReason = 'exited' | 'timeout' | 'oom' | 'output_limit' | 'killed';

export interface RunResult {
  /** The process's exit code; null when it never reported one (killed before the engine saw an exit). */
  readonly exit_code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** More output than the image's maxOutputBytes arrived; what is here is its start. */
  readonly truncated: boolean;
  readonly duration_ms: number;
  readonly exit_reason: ExitReason;
}

/** Why the runner itself stopped a process (first one wins); undefined while it has not. */
export type StopCause = 'timeout' | 'output_limit' | 'killed';

/** What a run or an exec needs besides its container: limits, live output, cancellation. */
export interface ProcessLimits {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly stdin?: Buffer | undefined;
  readonly onChunk?: ((chunk: OutputChunk) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The runner's own stop comes first (it acted before the engine reported), then the kernel's OOM killer. */
export function exitReason(stoppedBy: StopCause | undefined, oomKilled: boolean): ExitReason {
  if (stoppedBy !== undefined) return stoppedBy;
  return oomKilled ? 'oom' : 'exited';
}

/** Resolves after ms, or at once when the promise settles first; never rejects. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/**
 * After the engine reports an exit, the output still in flight: resolves when the stream ends, or when it has been
 * quiet for idleMs (a background process may hold it open), or after maxMs at most. Never cuts a stream that is
 * still delivering, short of maxMs.
 */
export function drained(stream: Duplex, idleMs = 250, maxMs = 5_000): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout;
    const done = () => {
      clearTimeout(idle);
      clearTimeout(cap);
      stream.off('data', onData);
      stream.off('end', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    const onData = () => {
      clearTimeout(idle);
      idle = setTimeout(done, idleMs);
    };
    const cap = setTimeout(done, maxMs);
    idle = setTimeout(done, idleMs);
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}
