// The browser's verifier (proxy/console/assets/verify.js) run in Node on the same kind of transcript the CLI's
// verifier (client/verify) is tested on: a real channel with a bot, signed heads from a real key. Both must accept
// the untouched transcript and name the same first bad message for every alteration the browser checks (chain,
// heads, commitments); the browser never trusts a key that is not in the JWKS it was given.
import { webcrypto } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadJwks, loadSigner } from '../../../auth/keys.ts';
import { verifyTranscript, type TranscriptExport } from '../../../client/verify/verify.ts';
import { verifyInBrowser } from '../../../proxy/console/assets/verify.js';
import { createInProcessBotRunner } from '../../../servers/bot-runner/runner.ts';
import { createHeadSigner } from '../../../servers/channels/receipts.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { reseal } from '../../helpers/reseal.ts';

const deps = { canonicalize, subtle: webcrypto.subtle };
let dir: string;
let jwks: JSONWebKeySet;
let otherJwks: JSONWebKeySet;
let transcript: TranscriptExport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpcp-browser-verify-'));
  await generateKeyPair(join(dir, 'keys'));
  await generateKeyPair(join(dir, 'other'));
  jwks = await loadJwks(join(dir, 'keys'));
  otherJwks = await loadJwks(join(dir, 'other'));
  const store = createSqliteChannelStore({ file: ':memory:' });
  const service = new ChannelService({
    store,
    runner: createInProcessBotRunner(),
    signHead: createHeadSigner(await loadSigner(join(dir, 'keys')), 'http://issuer.test'),
  });
  const alice = { agent: 'alice' };
  const bob = { agent: 'bob' };
  const created = await service.createChannel(alice, {
    name: 'game',
    slots: ['bot:ref', 'invite:a', 'invite:b'],
    bot_code: counterBot,
  });
  await service.joinChannel(alice, { invite_code: created.invites[0]!.code, seed: 'alice-seed' });
  await service.joinChannel(bob, { invite_code: created.invites[1]!.code, seed: 'bob-seed' });
  const heads = [];
  for (let i = 0; i < 3; i += 1) {
    await service.postMessage(i % 2 ? bob : alice, { channel_id: created.channel_id, body: { move: i } });
    heads.push((await service.getReceipt(alice, created.channel_id)).head);
  }
  const messages = await store.readMessages(created.channel_id, 0, 1000);
  const codeHash = (messages[1]!.body as { code_hash: string }).code_hash;
  transcript = {
    format: 'mcpcp-transcript/1',
    channel_id: created.channel_id,
    messages,
    heads,
    sources: { [codeHash]: counterBot },
  };
  await store.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verify in the browser (verify.js in Node)', () => {
  it('accepts the untouched transcript and marks its commitments and reveals', async () => {
    const report = await verifyInBrowser(transcript, jwks, deps);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toMatchObject({ chain: true, heads: 3, sources: 1 });
    expect(report.checked.reveals).toBe((await verifyTranscript(transcript, { jwks })).checked.reveals);
    const marked = Object.entries(report.marks).map(([seq, mark]) => [
      transcript.messages[Number(seq) - 1]!.kind,
      mark,
    ]);
    expect(marked).toContainEqual(['bot:attach', 'commitment']);
    expect(marked.filter(([, mark]) => mark === 'reveal').length).toBe(report.checked.reveals);
  });

  it('names the same first bad message as the CLI for an alteration of any field of any message', async () => {
    const fields = ['body', 'kind', 'ts', 'from'] as const;
    for (const [index, message] of transcript.messages.entries()) {
      const field = fields[index % fields.length]!;
      const bad = structuredClone(transcript);
      const target = bad.messages[index]!;
      if (field === 'body') target.body = { altered: true };
      if (field === 'kind') target.kind = `${target.kind}x`;
      if (field === 'ts') target.ts += 1;
      if (field === 'from') target.from = { type: 'agent', agent: 'mallory', slot: 's9' };
      const browser = await verifyInBrowser(bad, jwks, deps);
      const cli = await verifyTranscript(bad, { jwks });
      expect(browser.ok, `${field} of message ${message.seq}`).toBe(false);
      expect(browser.first_bad).toEqual(cli.first_bad);
      expect(browser.first_bad?.seq).toBe(message.seq);
    }
  });

  it('catches a re-sealed chain by its signed heads, naming the same message as the CLI', async () => {
    const agentMessage = transcript.messages.filter((m) => m.from.type === 'agent').at(-1)!;
    const edited = structuredClone(transcript.messages);
    edited[agentMessage.seq - 1]!.body = { move: 42 };
    const forged: TranscriptExport = { ...transcript, messages: reseal(edited, agentMessage.seq) };
    const browser = await verifyInBrowser(forged, jwks, deps);
    const cli = await verifyTranscript(forged, { jwks });
    expect(browser.ok).toBe(false);
    expect(browser.first_bad).toMatchObject({ check: 'heads' });
    expect(browser.first_bad?.seq).toBe(cli.problems.find((p) => p.check === 'heads')?.seq);
  });

  it('refuses heads signed by a key outside the given JWKS, and a transcript with no head', async () => {
    const foreign = await verifyInBrowser(transcript, otherJwks, deps);
    expect(foreign.ok).toBe(false);
    expect(foreign.first_bad).toMatchObject({ check: 'heads' });
    const headless = await verifyInBrowser({ ...transcript, heads: [] }, jwks, deps);
    expect(headless.first_bad).toMatchObject({ seq: 1, check: 'heads' });
  });

  it('flags a reveal whose seed does not match the commitment, at the reveal', async () => {
    const revealAt = transcript.messages.find((m) => m.kind === 'fairness:reveal');
    if (revealAt === undefined) throw new Error('the fixture game has no reveal');
    const edited = structuredClone(transcript.messages);
    (edited[revealAt.seq - 1]!.body as { seed: string }).seed = 'f'.repeat(64);
    const sealed = reseal(edited, revealAt.seq);
    // Heads cannot match a re-sealed chain: give the forger a fresh head over it to isolate the fairness check.
    const signer = createHeadSigner(await loadSigner(join(dir, 'keys')), 'http://issuer.test');
    const last = sealed.at(-1)!;
    const jws = await signer({
      typ: 'mcpcp-channel-head',
      channel_id: transcript.channel_id,
      seq: last.seq,
      hash: last.hash,
      ts: last.ts,
    });
    const forged = { ...transcript, messages: sealed, heads: [{ seq: last.seq, hash: last.hash, jws }] };
    const browser = await verifyInBrowser(forged, jwks, deps);
    expect(browser.first_bad).toMatchObject({ seq: revealAt.seq, check: 'fairness' });
    expect((await verifyTranscript(forged, { jwks })).problems).toContainEqual(
      expect.objectContaining({ seq: revealAt.seq, check: 'fairness' }),
    );
  });

  it('refuses something that is not a transcript', async () => {
    expect((await verifyInBrowser({ messages: [] }, jwks, deps)).first_bad).toMatchObject({
      check: 'format',
    });
  });
});
