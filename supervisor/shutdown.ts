// The shutdown ladder for one child: close stdin (the MCP way to ask a stdio server to leave) → SIGTERM to
// its process group → SIGKILL after a deadline. Resolves once the child has exited and its group is gone.
// It must not restart anything or touch supervisor state.
import { setTimeout as sleep } from 'node:timers/promises';
import { isGroupAlive, isRunning, signalGroup, type GuardedChild } from './spawn-guarded.ts';

export interface ShutdownLadder {
  /** Time the child gets to exit after stdin is closed. */
  readonly stdinGraceMs: number;
  /** Time it gets after SIGTERM before SIGKILL. */
  readonly termGraceMs: number;
}

export const defaultShutdownLadder: ShutdownLadder = Object.freeze({
  stdinGraceMs: 1_000,
  termGraceMs: 2_000,
});

export type LadderStep = 'stdin' | 'sigterm' | 'sigkill';

/** Returns the step that ended the child. */
export async function stopChild(
  child: GuardedChild,
  ladder: ShutdownLadder,
  exited: Promise<unknown>,
): Promise<LadderStep> {
  const pid = child.pid;
  const within = (ms: number) => Promise.race([exited.then(() => true), sleep(ms, false, { ref: false })]);
  let step: LadderStep = 'stdin';
  if (isRunning(child)) {
    child.stdin.end();
    if (!(await within(ladder.stdinGraceMs))) {
      step = 'sigterm';
      signalGroup(pid, 'SIGTERM');
      if (!(await within(ladder.termGraceMs))) {
        step = 'sigkill';
        signalGroup(pid, 'SIGKILL');
        await exited;
      }
    }
  }
  // The main process is gone; reap the watcher and anything the child forked and left behind.
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isGroupAlive(pid); i += 1) await sleep(10);
  child.release();
  return step;
}
