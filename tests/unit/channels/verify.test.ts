// `mcpcp verify` and client/verify: a real game transcript verifies; any alteration fails naming the first bad message.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeyPair, loadJwks, loadSigner } from '../../../auth/keys.ts';
import { verifyTranscript, type TranscriptExport } from '../../../client/verify/verify.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { registerVerify } from '../../../launcher/commands/verify.ts';
import { createInProcessBotRunner } from '../../../servers/bot-runner/runner.ts';
import { createHeadSigner } from '../../../servers/channels/receipts.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import type { ChannelMessage } from '../../../servers/channels/transcript.ts';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';
import type { JSONWebKeySet } from 'jose';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { reseal } from '../../helpers/reseal.ts';

addCommands(registerVerify);

describe('transcript verification', () => {
  let dir: string;
  let jwks: JSONWebKeySet;
  let transcript: TranscriptExport;
  /** The same channel read later: real messages after the last signed head of `transcript`. */
  let later: ChannelMessage[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-verify-'));
    await generateKeyPair(join(dir, 'keys'));
    jwks = await loadJwks(join(dir, 'keys'));
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
    await service.postMessage(alice, { channel_id: created.channel_id, body: { move: 3 } });
    later = await store.readMessages(created.channel_id, 0, 1000);
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts an untouched transcript: chain, heads, reveal and every bot message', async () => {
    const report = await verifyTranscript(transcript, { jwks, runHook: runBotHook });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.heads).toBe(3);
    expect(report.checked.reveals).toBe(1);
    expect(report.checked.bot_messages).toBe(transcript.messages.filter((m) => m.from.type === 'bot').length);
  });

  it('names the first altered message when a body is edited', async () => {
    const bad = structuredClone(transcript);
    const target = bad.messages.find((m) => m.from.type === 'agent')!;
    target.body = { move: 99 };
    const report = await verifyTranscript(bad, { jwks, runHook: runBotHook });
    expect(report.ok).toBe(false);
    expect(report.first_bad).toMatchObject({ seq: target.seq, check: 'chain' });
  });

  it('fails on an alteration of any field of any message, naming that message', async () => {
    const fields = ['body', 'kind', 'ts', 'from'] as const;
    for (const [index, message] of transcript.messages.entries()) {
      const field = fields[index % fields.length]!;
      const bad = structuredClone(transcript);
      const target = bad.messages[index]!;
      if (field === 'body') target.body = { altered: true };
      if (field === 'kind') target.kind = `${target.kind}x`;
      if (field === 'ts') target.ts += 1;
      if (field === 'from') target.from = { type: 'agent', agent: 'mallory', slot: 's9' };
      const report = await verifyTranscript(bad, { jwks });
      expect(report.ok, `${field} of message ${message.seq}`).toBe(false);
      expect(report.first_bad?.seq).toBe(message.seq);
    }
  });

  it('catches a forged bot message even when the forger recomputes the whole chain', async () => {
    const botMessage = transcript.messages.filter((m) => m.from.type === 'bot').at(-2)!;
    const edited = structuredClone(transcript.messages);
    (edited[botMessage.seq - 1]!.body as { draw: number }).draw += 1;
    const forged: TranscriptExport = { ...transcript, messages: reseal(edited, botMessage.seq) };
    // The signed heads after the edit contradict the re-sealed chain; the re-run names the forged message first.
    const report = await verifyTranscript(forged, { jwks, runHook: runBotHook });
    expect(report.ok).toBe(false);
    expect(report.first_bad).toMatchObject({ seq: botMessage.seq, check: 'bot' });
    expect(report.problems.some((p) => p.check === 'heads')).toBe(true);
    // Dropping the heads does not help the forger: then nothing vouches for the transcript at all.
    const headless = await verifyTranscript({ ...forged, heads: [] }, { jwks, runHook: runBotHook });
    expect(headless.ok).toBe(false);
    expect(headless.first_bad).toMatchObject({ seq: 1, check: 'heads' });
    expect(headless.problems).toContainEqual(expect.objectContaining({ seq: botMessage.seq, check: 'bot' }));
  });

  it('catches a revealed seed that does not match the commitment', async () => {
    const edited = structuredClone(transcript.messages);
    const reveal = edited.find((m) => m.kind === 'fairness:reveal')!;
    (reveal.body as { seed: string }).seed = 'f'.repeat(64);
    const report = await verifyTranscript(
      { ...transcript, messages: reseal(edited, reveal.seq) },
      { jwks, runHook: runBotHook },
    );
    expect(report.first_bad).toMatchObject({ seq: reveal.seq, check: 'fairness' });
  });

  it('rebuilds the random keys by the scheme bot:attach announces, and refuses a scheme it does not know', async () => {
    const attach = transcript.messages.find((m) => m.kind === 'bot:attach')!;
    expect((attach.body as { fairness: { scheme?: unknown } }).fairness.scheme).toBe(2);
    const roll = transcript.messages.find((m) => m.from.type === 'bot' && 'roll' in (m.body as object))!;
    for (const scheme of [undefined, 3]) {
      const edited = structuredClone(transcript.messages);
      const fairness = (edited[attach.seq - 1]!.body as { fairness: { scheme?: unknown } }).fairness;
      if (scheme === undefined) delete fairness.scheme;
      else fairness.scheme = scheme;
      const report = await verifyTranscript(
        { ...transcript, messages: reseal(edited, attach.seq) },
        { jwks, runHook: runBotHook },
      );
      expect(report.ok).toBe(false);
      if (scheme === undefined) {
        // Scheme 1 keys differ from the first one on: the onInit roll no longer comes out as recorded.
        expect(report.first_bad).toMatchObject({ seq: roll.seq, check: 'bot' });
        expect(report.notes.join(' ')).toMatch(/announces no fairness scheme/);
      } else expect(report.first_bad).toMatchObject({ seq: attach.seq, check: 'fairness' });
    }
  });

  it("flags an agent message in one of the server's kinds (the server refuses them) as an impersonation", async () => {
    const move = transcript.messages.find((m) => m.from.type === 'agent')!;
    const edited = structuredClone(transcript.messages);
    edited[move.seq - 1]!.kind = 'System';
    const report = await verifyTranscript(
      { ...transcript, messages: reseal(edited, move.seq) },
      { jwks, runHook: runBotHook },
    );
    expect(report.first_bad).toMatchObject({ seq: move.seq, check: 'kind' });
  });

  it('catches a removed message and a head signed by another key', async () => {
    const removed = { ...transcript, messages: transcript.messages.filter((m) => m.seq !== 5) };
    expect((await verifyTranscript(removed, { jwks })).first_bad).toMatchObject({ seq: 6, check: 'chain' });
    const other = join(dir, 'other-keys');
    await generateKeyPair(other);
    const report = await verifyTranscript(transcript, { jwks: await loadJwks(other) });
    expect(report.ok).toBe(false);
    expect(report.first_bad?.check).toBe('heads');
  });

  describe('signed heads must cover the whole transcript', () => {
    const lastSeq = (): number => transcript.messages.at(-1)!.seq;

    it('fails a transcript without any signed head, naming message 1', async () => {
      const report = await verifyTranscript({ ...transcript, heads: [] }, { jwks, runHook: runBotHook });
      expect(report.ok).toBe(false);
      expect(report.first_bad).toMatchObject({ seq: 1, check: 'heads' });
      const unsigned = transcript.heads.map((head) => ({ ...head, jws: null }));
      const withUnsigned = await verifyTranscript({ ...transcript, heads: unsigned }, { jwks });
      expect(withUnsigned.first_bad).toMatchObject({ seq: 1, check: 'heads' });
    });

    it('fails real messages appended after the last signed head, naming the first of them', async () => {
      expect(later.length).toBeGreaterThan(transcript.messages.length);
      const report = await verifyTranscript(
        { ...transcript, messages: later },
        { jwks, runHook: runBotHook },
      );
      expect(report.ok).toBe(false);
      expect(report.first_bad).toMatchObject({ seq: lastSeq() + 1, check: 'heads' });
    });

    it('fails a transcript cut short of its signed head, naming the first missing message', async () => {
      const cut = transcript.messages.length - 2;
      const report = await verifyTranscript(
        { ...transcript, messages: transcript.messages.slice(0, cut) },
        { jwks, runHook: runBotHook },
      );
      expect(report.ok).toBe(false);
      expect(report.first_bad).toMatchObject({ seq: cut + 1, check: 'heads' });
    });

    it('accepts a prefix that ends exactly at one of its signed heads', async () => {
      const head = transcript.heads[0]!;
      const report = await verifyTranscript(
        { ...transcript, messages: transcript.messages.slice(0, head.seq), heads: [head] },
        { jwks },
      );
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    });

    it('never trusts the JWKS embedded in the file: a forger signing with their own key fails', async () => {
      const forgerDir = join(dir, 'forger-keys');
      await generateKeyPair(forgerDir);
      const forgerJwks = await loadJwks(forgerDir);
      const sign = createHeadSigner(await loadSigner(forgerDir), 'http://issuer.test');
      const last = later.at(-1)!;
      const forged: TranscriptExport = {
        ...transcript,
        messages: later,
        heads: [
          {
            seq: last.seq,
            hash: last.hash,
            jws: await sign({
              typ: 'mcpcp-channel-head',
              channel_id: transcript.channel_id,
              seq: last.seq,
              hash: last.hash,
              ts: last.ts,
            }),
          },
        ],
        jwks: forgerJwks,
      };
      const untrusted = await verifyTranscript(forged, { runHook: runBotHook });
      expect(untrusted.ok).toBe(false);
      expect(untrusted.first_bad).toMatchObject({ seq: 1, check: 'heads' });
      const checked = await verifyTranscript(forged, { jwks, runHook: runBotHook });
      expect(checked.ok).toBe(false);
      expect(checked.first_bad?.check).toBe('heads');
    });
  });

  it('runs as `mcpcp verify --file` with exit code 0, and 1 naming the message for a tampered copy', async () => {
    const good = join(dir, 'good.json');
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(good, JSON.stringify(transcript));
    await writeFile(jwksFile, JSON.stringify(jwks));
    const bad = structuredClone(transcript);
    bad.messages[6]!.body = 'tampered';
    const badFile = join(dir, 'bad.json');
    await writeFile(badFile, JSON.stringify(bad));
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      expect(await runCli(['verify', '--file', good, '--jwks', jwksFile])).toBe(0);
      expect(out.join('\n')).toMatch(/^OK/);
      process.exitCode = undefined;
      out.length = 0;
      expect(await runCli(['verify', '--file', badFile, '--jwks', jwksFile, '--json'])).toBe(1);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ ok: false, first_bad: { seq: 7, check: 'chain' } });
      process.exitCode = undefined;
      expect(await runCli(['verify'])).toBe(2);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
  });
  it('`mcpcp verify --file` refuses to run without --jwks (exit 2), even when the file carries a JWKS', async () => {
    const file = join(dir, 'with-own-jwks.json');
    await writeFile(file, JSON.stringify({ ...transcript, jwks }));
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      expect(await runCli(['verify', '--file', file])).toBe(2);
      expect(await runCli(['verify', '--file', file, '--json'])).toBe(2);
      expect(out).toEqual([]);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
  });

  it('`mcpcp verify --file` exits 1 for no signed heads, appended and cut-off messages, naming the first uncovered', async () => {
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(jwks));
    const last = transcript.messages.at(-1)!.seq;
    const cases: Array<[string, TranscriptExport, number]> = [
      ['no-heads', { ...transcript, heads: [] }, 1],
      ['appended', { ...transcript, messages: later }, last + 1],
      ['cut', { ...transcript, messages: transcript.messages.slice(0, last - 1) }, last],
    ];
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      for (const [name, copy, seq] of cases) {
        const file = join(dir, `${name}.json`);
        await writeFile(file, JSON.stringify(copy));
        out.length = 0;
        expect(await runCli(['verify', '--file', file, '--jwks', jwksFile, '--json']), name).toBe(1);
        expect(JSON.parse(out.join('\n')), name).toMatchObject({
          ok: false,
          first_bad: { seq, check: 'heads' },
        });
        process.exitCode = undefined;
      }
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
  });
});
