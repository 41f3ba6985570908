// The deterministic random stream behind a bot's ctx.random()/ctx.randomInt(n) (ARCHITECTURE.md decision 12).
// It owns only the arithmetic; where the key comes from (commitments, mixed-in player seeds) is the channel's job.
//
// Definition (anyone can re-implement it to check a transcript):
//   block(i)   = HMAC-SHA256(key, uint64be(i))            key = the bytes of `keyHex`, i = the counter
//   draw53(i)  = the first 8 bytes of block(i) read big-endian, shifted right by 11 → an integer in [0, 2^53)
//   random()   = draw53(counter++) / 2^53                  a double in [0, 1)
//   randomInt(n), 1 ≤ n ≤ 2^53 an integer: limit = 2^53 − (2^53 mod n);
//                x = draw53(counter++) until x < limit; return x mod n      (rejection sampling: no modulo bias)
// Every draw consumes exactly one block; `counter` is the index of the next unused block, so a channel persists it
// between hooks and the stream continues where it stopped.
import { createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const TWO_53 = 2 ** 53;
const HEX_KEY = /^(?:[0-9a-fA-F]{2}){16,128}$/;

export interface RandomStream {
  random(): number;
  randomInt(n: number): number;
  readonly counter: number;
}

export function createRandomStream(keyHex: string, counter = 0): RandomStream {
  if (!HEX_KEY.test(keyHex)) {
    throw new RangeError('random stream key must be 16 to 128 bytes of hex');
  }
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError('random stream counter must be a non-negative safe integer');
  }
  const key: KeyObject = createSecretKey(Buffer.from(keyHex, 'hex'));
  const index = Buffer.alloc(8);
  let next = counter;

  const draw53 = (): number => {
    index.writeBigUInt64BE(BigInt(next));
    next += 1;
    const block = createHmac('sha256', key).update(index).digest();
    // hi * 2^21 + (lo >>> 11) is exact in a double: the result is below 2^53.
    return block.readUInt32BE(0) * 2 ** 21 + (block.readUInt32BE(4) >>> 11);
  };

  return {
    random: () => draw53() / TWO_53,
    randomInt: (n: number): number => {
      if (!Number.isInteger(n) || n < 1 || n > TWO_53) {
        throw new RangeError('randomInt(n) needs an integer n with 1 <= n <= 2^53');
      }
      const limit = TWO_53 - (TWO_53 % n);
      for (;;) {
        const x = draw53();
        if (x < limit) return x % n;
      }
    },
    get counter() {
      return next;
    },
  };
}
