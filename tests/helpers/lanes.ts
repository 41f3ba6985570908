// The direct lanes in tests: whether this run has them on (MCPCP_DIRECT_LANES; CI runs the integration and
// conformance suites both ways), and how many requests a lane took while a test step ran. Every lane
// comparison test asserts its lane really answered (or, with lanes off, that it did not).
import { readRuntimeEnv } from '../../lib/env.ts';
import { lanesTaken, type LaneName } from '../../lib/lanes.ts';

export const lanesOn = readRuntimeEnv().directLanes;

/** `n` when lanes are on, 0 when they are off: what a lane counter should have moved by. */
export function laneTakes(n: number): number {
  return lanesOn ? n : 0;
}

/** Runs `step` and returns its value and how many requests `lane` took meanwhile. */
export async function counting<T>(
  lane: LaneName,
  step: () => Promise<T>,
): Promise<{ value: T; taken: number }> {
  const before = lanesTaken()[lane];
  const value = await step();
  return { value, taken: lanesTaken()[lane] - before };
}
