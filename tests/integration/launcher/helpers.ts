// Shared helpers for launcher integration tests: fixture paths and "no process left" checks.
import { setTimeout as sleep } from 'node:timers/promises';

export const fixturesDir = new URL('../../fixtures/children/', import.meta.url).pathname;
export const stdioChild = `${fixturesDir}stdio-child.ts`;
export const httpChild = `${fixturesDir}http-child.ts`;

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Waits up to `withinMs` for the process and its process group to be gone; false if something is left. */
export async function isGone(pid: number, withinMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!exists(pid) && !exists(-pid)) return true;
    await sleep(25);
  }
  return !exists(pid) && !exists(-pid);
}

export async function waitFor(check: () => boolean, withinMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
