// Known-answer tests for the fairness keys (servers/channels/fairness.ts) and the draws they give: vectors computed
// independently with Python's hmac module (HMAC-SHA256 over the RFC 8785 text written out by hand).
import { describe, expect, it } from 'vitest';
import {
  commitmentOf,
  lockedRandomKey,
  openRandomKey,
  type PlayerSeed,
} from '../../../servers/channels/fairness.ts';
import { createRandomStream } from '../../../servers/sandbox/random-stream.ts';

/** S = the bytes 0x00, 0x01, …, 0x1f. */
const SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex');
const PLAYERS: PlayerSeed[] = [
  { slot: 's1', seed: 'alpha' },
  { slot: 's2', seed: 'beta' },
];

const draws = (key: string, count = 3): number[] => {
  const stream = createRandomStream(key);
  return Array.from({ length: count }, () => stream.randomInt(1_000_000));
};

describe('fairness keys (scheme 2)', () => {
  it('derives K_open = HMAC-SHA256(S, {"stage":"open"}) and its draws', () => {
    const key = openRandomKey(SEED);
    expect(key).toBe('7fec7f90c89aeeb7c489daec268e738f46eca53cd3c86102a708927a55ed6ee2');
    expect(draws(key)).toEqual([310042, 22544, 285588]);
  });

  it('derives K_locked without player seeds as another key: the draws after the lock do not repeat onInit', () => {
    const key = lockedRandomKey(SEED, []);
    expect(key).toBe('cc3054c1d2effb8afcffdecc08ade9c48ca6aa12fe2c638bcd778960a7d4eff8');
    expect(draws(key)).toEqual([976192, 51769, 335533]);
    expect(key).not.toBe(openRandomKey(SEED));
  });

  it('derives K_locked with player seeds in slot order from {"seeds":[…],"stage":"locked"}', () => {
    const key = lockedRandomKey(SEED, PLAYERS);
    expect(key).toBe('cc279ada64e1ce6568d635d25389695a7808071a801b1ef7b8b23dc833d6aadb');
    expect(draws(key)).toEqual([742684, 380635, 804123]);
  });

  it('still rebuilds scheme 1 (transcripts that announce no scheme), where open and unseeded locked keys coincide', () => {
    const legacy = '445cf8baebc4c11c8a0e0d9e2d8923e837c3fc661f310140badd038b4d594b7a';
    expect(openRandomKey(SEED, 1)).toBe(legacy);
    expect(lockedRandomKey(SEED, [], 1)).toBe(legacy);
    expect(draws(legacy)).toEqual([248170, 133104, 411456]);
  });

  it('commits to the seed as sha256 of its 32 bytes', () => {
    expect(commitmentOf(SEED)).toBe('630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd');
  });
});
