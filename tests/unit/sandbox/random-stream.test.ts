// Known-answer tests for the HMAC-SHA256 random stream; vectors computed independently with Python's hmac module.
import { describe, expect, it } from 'vitest';
import { createRandomStream } from '../../../servers/sandbox/random-stream.ts';

const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

describe('createRandomStream', () => {
  it('draws random() as the top 53 bits of HMAC-SHA256(key, uint64be(counter)) over 2^53', () => {
    const s = createRandomStream(KEY);
    expect([s.random(), s.random(), s.random()]).toEqual([
      0.02340384173251797, 0.6165391930576286, 0.33373985195105416,
    ]);
    expect(s.counter).toBe(3);
  });

  it('continues from a given counter exactly where a previous stream stopped', () => {
    const s = createRandomStream(KEY, 1000);
    expect([s.random(), s.random()]).toEqual([0.7470501074644805, 0.7748314291225762]);
    expect(s.counter).toBe(1002);
    const a = createRandomStream(KEY);
    a.random();
    const b = createRandomStream(KEY, a.counter);
    expect(b.random()).toBe(0.6165391930576286);
  });

  it('draws randomInt(n) by rejection sampling with one block per draw', () => {
    const s = createRandomStream(KEY);
    expect(Array.from({ length: 10 }, () => s.randomInt(6))).toEqual([4, 5, 4, 4, 3, 3, 0, 2, 1, 1]);
    expect(s.counter).toBe(10);
  });

  it('rejects draws above the largest multiple of n (no modulo bias)', () => {
    const s = createRandomStream(KEY);
    const n = 2 ** 52 + 1;
    expect(Array.from({ length: 5 }, () => s.randomInt(n))).toEqual([
      210803065811212, 3006061345770904, 1036541581482838, 2184343607161407, 3565095223111479,
    ]);
    // the second block (5553291360227285) is ≥ limit 4503599627370497 and was skipped
    expect(s.counter).toBe(6);
  });

  it('returns 0 for randomInt(1) and stays within range for many n', () => {
    const s = createRandomStream(KEY);
    expect(s.randomInt(1)).toBe(0);
    for (let n = 1; n < 200; n += 7) {
      const x = s.randomInt(n);
      expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
    }
  });

  it('rejects bad keys, counters and ranges', () => {
    expect(() => createRandomStream('abc')).toThrow(RangeError);
    expect(() => createRandomStream('zz'.repeat(32))).toThrow(RangeError);
    expect(() => createRandomStream(KEY, -1)).toThrow(RangeError);
    expect(() => createRandomStream(KEY, 1.5)).toThrow(RangeError);
    const s = createRandomStream(KEY);
    expect(() => s.randomInt(0)).toThrow(RangeError);
    expect(() => s.randomInt(2.5)).toThrow(RangeError);
    expect(() => s.randomInt(2 ** 53 + 2)).toThrow(RangeError);
    expect(s.counter).toBe(0);
  });
});
