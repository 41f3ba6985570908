// What lets proxy replicas share nothing but keys: sealed 2025-era session ids (any replica holding the fleet's key
// opens them; an altered id, another fleet's id or a random one opens to nothing), and a rate limit split between
// replicas that together never allow more than the limit, whatever way requests spread over them.
import { describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { createSessionSeal, sessionSealKey } from '../../../proxy/gateway/session-seal.ts';
import { replicaShare } from '../../../proxy/replica-share.ts';
import { takeToken, type Bucket } from '../../../proxy/rate-limit.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('sealed session ids', () => {
  const session = {
    agent: 'alice',
    init: {
      protocolVersion: '2025-11-25',
      capabilities: { roots: {} },
      clientInfo: { name: 'c', version: '1' },
    },
    iat: 1,
  };

  it('opens on every replica that derives the key from the same fleet key, and nowhere else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-seal-'));
    try {
      await generateKeyPair(join(dir, 'a'));
      await generateKeyPair(join(dir, 'b'));
      const replica1 = createSessionSeal(await sessionSealKey((await loadSigner(join(dir, 'a'))).privateKey));
      const replica2 = createSessionSeal(await sessionSealKey((await loadSigner(join(dir, 'a'))).privateKey));
      const otherFleet = createSessionSeal(
        await sessionSealKey((await loadSigner(join(dir, 'b'))).privateKey),
      );
      const id = replica1.seal(session);
      expect(id).toMatch(/^mcs1\.[A-Za-z0-9_-]+$/);
      expect(replica2.open(id)).toEqual(session);
      expect(otherFleet.open(id)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens an altered, truncated or foreign id to nothing', () => {
    const seal = createSessionSeal();
    const id = seal.seal(session);
    const flipped = id.slice(0, 20) + (id[20] === 'A' ? 'B' : 'A') + id.slice(21);
    expect(seal.open(flipped)).toBeUndefined();
    expect(seal.open(id.slice(0, 30))).toBeUndefined();
    expect(seal.open('3f2c1d9e-uuid-like')).toBeUndefined();
    expect(seal.open(`mcs1.${'A'.repeat(9000)}`)).toBeUndefined();
    expect(() => createSessionSeal(new Uint8Array(16))).toThrow(RangeError);
  });
});

describe('a rate limit shared by replicas', () => {
  it('never lets N replicas together allow more than the limit, however requests spread', () => {
    const limit = { requestsPerMinute: 120, burst: 20 };
    for (const replicas of [1, 2, 3, 4]) {
      const share = replicaShare(limit, replicas)!;
      const buckets: Array<Bucket | undefined> = Array.from({ length: replicas }, () => undefined);
      let allowed = 0;
      // Two minutes of an agent hammering every replica 50 times a second.
      for (let t = 0; t < 120_000; t += 20) {
        for (let r = 0; r < replicas; r += 1) {
          const result = takeToken(buckets[r], share, t);
          buckets[r] = result.bucket;
          if (result.allowed) allowed += 1;
        }
      }
      // Two minutes of the limit plus one burst, at most.
      expect(allowed).toBeLessThanOrEqual(2 * limit.requestsPerMinute + limit.burst);
      expect(allowed).toBeGreaterThanOrEqual(2 * limit.requestsPerMinute);
    }
    expect(replicaShare(undefined, 3)).toBeUndefined();
    expect(replicaShare(limit, 1)).toBe(limit);
  });
});
