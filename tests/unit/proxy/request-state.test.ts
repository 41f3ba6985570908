// The sealed requestState of input_required rounds: bound to the agent, opaque, fresh per round, expiring,
// and openable by any proxy that derives the key from the same signing key.
import { generateKeyPairSync } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  createRequestStateSealer,
  deriveRequestStateKey,
  ephemeralRequestStateKey,
  type RoundState,
} from '../../../proxy/gateway/request-state.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const round: RoundState = { server: 'everything', method: 'tools/call', name: 'ask', child: 'child-state-1' };

describe('sealed requestState', () => {
  it('opens for the agent it was sealed for, with what it carries', async () => {
    const sealer = createRequestStateSealer({ key: deriveRequestStateKey(privateKey), ttlMs: 60_000 });
    const token = await sealer.seal('alice', round);
    expect(await sealer.open('alice', token)).toEqual(round);
    expect(await sealer.open('bob', token)).toBeUndefined();
  });

  it('hides what it carries and refuses any change', async () => {
    const key = deriveRequestStateKey(privateKey);
    const sealer = createRequestStateSealer({ key, ttlMs: 60_000 });
    const token = await sealer.seal('alice', round);
    expect(token).not.toContain('child-state-1');
    expect(Buffer.from(token.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('everything');
    const parts = token.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString('base64url');
    expect(await sealer.open('alice', parts.join('.'))).toBeUndefined();
    expect(await sealer.open('alice', 'not-a-state')).toBeUndefined();
    // What it is, under the key: a JWE the proxy alone can read.
    const { plaintext } = await compactDecrypt(token, key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toMatchObject({
      sub: 'alice',
      child: 'child-state-1',
    });
  });

  it('is fresh for every round, even for the same state', async () => {
    const sealer = createRequestStateSealer({ key: ephemeralRequestStateKey(), ttlMs: 60_000 });
    expect(await sealer.seal('alice', round)).not.toBe(await sealer.seal('alice', round));
  });

  it('opens in another replica that derives its key from the same signing key, and nowhere else', async () => {
    const one = createRequestStateSealer({ key: deriveRequestStateKey(privateKey), ttlMs: 60_000 });
    const two = createRequestStateSealer({ key: deriveRequestStateKey(privateKey), ttlMs: 60_000 });
    const other = createRequestStateSealer({ key: ephemeralRequestStateKey(), ttlMs: 60_000 });
    const token = await one.seal('alice', { ...round, flow: 'flow_1' });
    expect(await two.open('alice', token)).toEqual({ ...round, flow: 'flow_1' });
    expect(await other.open('alice', token)).toBeUndefined();
  });

  it('expires after its time to live', async () => {
    let now = Date.UTC(2026, 0, 1);
    const sealer = createRequestStateSealer({
      key: ephemeralRequestStateKey(),
      ttlMs: 10_000,
      now: () => now,
    });
    const token = await sealer.seal('alice', round);
    now += 9_000;
    expect(await sealer.open('alice', token)).toEqual(round);
    now += 2_000;
    expect(await sealer.open('alice', token)).toBeUndefined();
  });

  it('refuses a key of the wrong size', () => {
    expect(() => createRequestStateSealer({ key: new Uint8Array(16), ttlMs: 1 })).toThrow(RangeError);
  });
});
