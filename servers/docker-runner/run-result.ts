// The answer of a run or an exec, and the decision of why it ended. Pure; run-container.ts and exec.ts fill it in.
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
