// Bot hook failures in a real channel transcript and in `verify`: a failure outside the bot's code (runner
// unreachable, the wall clock) is recorded with its own code and taken as the server's statement; a failure of the
// bot's code (instruction budget, a throw) must come out of the re-run exactly as recorded.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadJwks, loadSigner, type Signer } from '../../../auth/keys.ts';
import { verifyTranscript, type TranscriptExport } from '../../../client/verify/verify.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { createInProcessBotRunner, type BotRunner } from '../../../servers/bot-runner/runner.ts';
import { recordedHookFailure } from '../../../servers/channels/bots.ts';
import { createHeadSigner } from '../../../servers/channels/receipts.ts';
import type { ChannelLimits } from '../../../servers/channels/rules.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import type { ChannelMessage } from '../../../servers/channels/transcript.ts';
import { timeout } from '../../../servers/sandbox/bot-errors.ts';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';
import { reseal } from '../../helpers/reseal.ts';

/** CounterBot with switches: body 'spin' loops forever, body 'throw' throws; otherwise it counts and draws. */
const switchBot = `
class SwitchBot {
  constructor(ctx) { this.ctx = ctx; }
  onInit() { this.ctx.post('bot', { roll: this.ctx.randomInt(6) }); }
  onMessage(msg) {
    if (msg.body === 'spin') for (;;) {}
    if (msg.body === 'throw') throw new Error('boom');
    const s = this.ctx.getState() || { n: 0 };
    s.n += 1;
    this.ctx.setState(s);
    this.ctx.post('bot', { n: s.n, draw: this.ctx.randomInt(1000) });
    if (s.n >= 3) this.ctx.post('game:over', { rounds: s.n });
  }
}`;

/** A runner that cannot be reached for the hook of a message whose body is 'lost' (as a dead bot-runner would). */
function unreachableFor(body: string): BotRunner {
  const inner = createInProcessBotRunner();
  return {
    version: inner.version,
    run: (input) =>
      (input.event as { body?: unknown } | null)?.body === body
        ? Promise.reject(new McpcpError('ERR_UPSTREAM_UNAVAILABLE', 'bot-runner unreachable'))
        : inner.run(input),
  };
}

const errorCode = (m: ChannelMessage | undefined): unknown =>
  (m?.body as { code?: unknown } | undefined)?.code;

describe('bot hook failures', () => {
  let dir: string;
  let signer: Signer;
  let jwks: JSONWebKeySet;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-bot-failures-'));
    await generateKeyPair(dir);
    signer = await loadSigner(dir);
    jwks = await loadJwks(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Plays `moves` (alternating players) on a real ChannelService and returns the signed export. */
  async function play(
    moves: unknown[],
    options: { runner?: BotRunner; limits?: Partial<ChannelLimits> } = {},
  ): Promise<TranscriptExport> {
    const store = createSqliteChannelStore({ file: ':memory:' });
    const service = new ChannelService({
      store,
      runner: options.runner ?? createInProcessBotRunner(),
      signHead: createHeadSigner(signer, 'http://issuer.test'),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    try {
      const alice = { agent: 'alice' };
      const bob = { agent: 'bob' };
      const created = await service.createChannel(alice, {
        name: 'table',
        slots: ['bot:ref', 'invite:a', 'invite:b'],
        bot_code: switchBot,
      });
      const channel_id = created.channel_id;
      await service.joinChannel(alice, { invite_code: created.invites[0]!.code, seed: 'a' });
      await service.joinChannel(bob, { invite_code: created.invites[1]!.code, seed: 'b' });
      for (const [i, body] of moves.entries())
        await service.postMessage(i % 2 ? bob : alice, { channel_id, body });
      const messages = await store.readMessages(channel_id, 0, 1000);
      const codeHash = (messages[1]!.body as { code_hash: string }).code_hash;
      return {
        format: 'mcpcp-transcript/1',
        channel_id,
        messages,
        heads: [(await service.getReceipt(alice, channel_id)).head],
        sources: { [codeHash]: switchBot },
      };
    } finally {
      await store.close();
    }
  }

  const errorsOf = (t: TranscriptExport): ChannelMessage[] =>
    t.messages.filter((m) => m.from.type === 'system' && m.kind === 'bot:error');

  it('classifies the sandbox wall clock and a lost worker as outside the bot, the instruction budget as its own', () => {
    expect(recordedHookFailure(undefined, true)?.code).toBe('ERR_BOT_UNAVAILABLE');
    expect(recordedHookFailure(timeout('wall'))?.code).toBe('ERR_BOT_WALL_CLOCK');
    expect(recordedHookFailure(timeout('instructions'))?.code).toBe('ERR_BOT_TIMEOUT');
    expect(
      recordedHookFailure({ code: 'ERR_BOT_MEMORY', message: 'the sandbox worker stopped (exit 1)' })?.code,
    ).toBe('ERR_BOT_UNAVAILABLE');
    expect(
      recordedHookFailure({ code: 'ERR_BOT_MEMORY', message: 'the sandbox worker did not start' })?.code,
    ).toBe('ERR_BOT_UNAVAILABLE');
    expect(recordedHookFailure({ code: 'ERR_BOT_THROWN', message: 'Error: boom' })?.code).toBe(
      'ERR_BOT_THROWN',
    );
    expect(recordedHookFailure(undefined)).toBeUndefined();
  });

  describe('an unreachable bot runner', () => {
    let transcript: TranscriptExport;
    beforeAll(async () => {
      transcript = await play([0, 'lost', 1, 2], { runner: unreachableFor('lost') });
    }, 30_000);

    it('is recorded as ERR_BOT_UNAVAILABLE, the channel carries on with state and counter unchanged', () => {
      const errors = errorsOf(transcript);
      expect(errors.map(errorCode)).toEqual(['ERR_BOT_UNAVAILABLE']);
      // The hook after the lost one counts on from the state before it: three counted moves end the game.
      const counts = transcript.messages
        .filter((m) => m.kind === 'bot')
        .map((m) => (m.body as { n?: number }).n);
      expect(counts).toEqual([undefined, 1, 2, 3]);
      expect(transcript.messages.some((m) => m.kind === 'fairness:reveal')).toBe(true);
    });

    it('verifies: the recorded failure is taken as the server statement, every other hook re-runs exactly', async () => {
      const report = await verifyTranscript(transcript, { jwks, runHook: runBotHook });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      // onInit, two onJoin and three of the four onMessage hooks.
      expect(report.checked.hooks_replayed).toBe(6);
      expect(report.notes.length).toBeGreaterThan(0);
    });

    it('verifies when the lost hook is the first move of the epoch (the seed lock still applies)', async () => {
      const first = await play(['lost', 0, 1, 2], { runner: unreachableFor('lost') });
      expect(errorsOf(first).map(errorCode)).toEqual(['ERR_BOT_UNAVAILABLE']);
      const report = await verifyTranscript(first, { jwks, runHook: runBotHook });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    }, 30_000);

    it('fails a statement that sits next to bot output for the same trigger', async () => {
      const over = transcript.messages.find((m) => m.kind === 'game:over')!;
      const post = transcript.messages.find((m) => m.kind === 'bot' && m.reply_to === over.reply_to)!;
      const edited = structuredClone(transcript.messages);
      edited[post.seq - 1] = {
        ...edited[post.seq - 1]!,
        from: { type: 'system' },
        kind: 'bot:error',
        body: { ...(errorsOf(transcript)[0]!.body as object), hook: 'message' },
      };
      const report = await verifyTranscript(
        { ...transcript, messages: reseal(edited, post.seq) },
        { jwks, runHook: runBotHook },
      );
      expect(report.ok).toBe(false);
      expect(report.first_bad).toMatchObject({ seq: post.seq, check: 'bot' });
    });

    it('fails when the verifier itself cannot run a hook, rather than trusting the transcript', async () => {
      const report = await verifyTranscript(transcript, {
        jwks,
        runHook: () => Promise.reject(new Error('runner down')),
      });
      expect(report.ok).toBe(false);
      expect(report.first_bad?.check).toBe('bot');
      expect(report.first_bad?.seq).toBe(transcript.messages.find((m) => m.from.type === 'bot')!.seq);
    });
  });

  it('records a hook stopped by the wall clock as ERR_BOT_WALL_CLOCK and verifies without re-running it', async () => {
    const transcript = await play([0, 'spin', 1, 2], {
      limits: { bot: { memoryBytes: 16 * 1024 * 1024, instructions: 2_000_000_000, wallMs: 300 } },
    });
    expect(errorsOf(transcript).map(errorCode)).toEqual(['ERR_BOT_WALL_CLOCK']);
    const report = await verifyTranscript(transcript, { jwks, runHook: runBotHook });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.hooks_replayed).toBe(6);
  }, 30_000);

  it("answers a post whose hook the worker kill must stop within the hook's wall clock plus a small margin", async () => {
    const wallMs = 1_000;
    const store = createSqliteChannelStore({ file: ':memory:' });
    const service = new ChannelService({
      store,
      runner: createInProcessBotRunner(),
      limits: { bot: { memoryBytes: 32 * 1024 * 1024, instructions: 2_000_000_000, wallMs } },
    });
    try {
      const alice = { agent: 'alice' };
      const created = await service.createChannel(alice, {
        name: 'stuck',
        slots: ['bot:ref', 'invite:a'],
        // A default sort of 600k numbers never polls the interrupt handler (~200 ms each): only the kill stops it.
        bot_code: `class Stuck { constructor(ctx) {} onMessage() { const a = new Array(6e5).fill(7); for (let i = 0; i < 60; i++) a.sort(); } }`,
      });
      await service.joinChannel(alice, { invite_code: created.invites[0]!.code });
      const started = performance.now();
      const posted = await service.postMessage(alice, { channel_id: created.channel_id, body: 'stuck' });
      const elapsed = performance.now() - started;
      expect(posted.replies.filter((m) => m.kind === 'bot:error').map(errorCode)).toEqual([
        'ERR_BOT_WALL_CLOCK',
      ]);
      expect(elapsed).toBeGreaterThanOrEqual(wallMs);
      expect(elapsed).toBeLessThan(wallMs + 500);
      // The channel and the (replaced) worker carry on.
      const again = await service.postMessage(alice, { channel_id: created.channel_id, body: 'again' });
      expect(again.replies.map(errorCode)).toEqual(['ERR_BOT_WALL_CLOCK']);
    } finally {
      await store.close();
    }
  }, 30_000);

  describe('failures of the bot code itself', () => {
    let transcript: TranscriptExport;
    beforeAll(async () => {
      transcript = await play([0, 'spin', 'throw', 1, 2], {
        limits: { bot: { memoryBytes: 16 * 1024 * 1024, instructions: 2_000_000, wallMs: 5_000 } },
      });
    }, 30_000);

    it('are recorded with their own codes and reproduce exactly on re-run', async () => {
      expect(errorsOf(transcript).map(errorCode)).toEqual(['ERR_BOT_TIMEOUT', 'ERR_BOT_THROWN']);
      const report = await verifyTranscript(transcript, { jwks, runHook: runBotHook });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      // onInit, two onJoin and all five onMessage hooks, the failing two included.
      expect(report.checked.hooks_replayed).toBe(8);
    });

    it('fails a recorded code that the re-run does not reproduce, naming that bot:error', async () => {
      for (const [index, code] of [
        [0, 'ERR_BOT_MEMORY'],
        [1, 'ERR_BOT_OUTPUT'],
      ] as const) {
        const target = errorsOf(transcript)[index]!;
        const edited = structuredClone(transcript.messages);
        (edited[target.seq - 1]!.body as { code: string }).code = code;
        const report = await verifyTranscript(
          { ...transcript, messages: reseal(edited, target.seq) },
          { jwks, runHook: runBotHook },
        );
        expect(report.ok, code).toBe(false);
        expect(report.first_bad, code).toMatchObject({ seq: target.seq, check: 'bot' });
      }
    });

    it("records a throw's text as quoted bot_text and fails a copy where it is altered, dropped or made the message", async () => {
      const thrown = errorsOf(transcript)[1]!;
      const body = thrown.body as { message: string; bot_text: string };
      expect(body.message).not.toContain('boom');
      expect(body.bot_text).toMatch(/^Error: boom at bot\.js:\d+:\d+$/);
      for (const edit of [
        (b: Record<string, unknown>) => (b['bot_text'] = 'Error: bang'),
        (b: Record<string, unknown>) => delete b['bot_text'],
        (b: Record<string, unknown>) => ((b['message'] = b['bot_text']), delete b['bot_text']),
      ]) {
        const edited = structuredClone(transcript.messages);
        edit(edited[thrown.seq - 1]!.body as Record<string, unknown>);
        const report = await verifyTranscript(
          { ...transcript, messages: reseal(edited, thrown.seq) },
          { jwks, runHook: runBotHook },
        );
        expect(report.ok).toBe(false);
        expect(report.first_bad).toMatchObject({ seq: thrown.seq, check: 'bot' });
      }
    });

    it('fails a deterministic failure relabelled as outside the bot: only the signed head can tell, and it does', async () => {
      const target = errorsOf(transcript)[0]!;
      const edited = structuredClone(transcript.messages);
      (edited[target.seq - 1]!.body as { code: string }).code = 'ERR_BOT_UNAVAILABLE';
      const report = await verifyTranscript(
        { ...transcript, messages: reseal(edited, target.seq) },
        { jwks, runHook: runBotHook },
      );
      expect(report.ok).toBe(false);
      expect(report.first_bad?.check).toBe('heads');
    });
  });
});
