// The bot-runner as its own MCP server: the channels server runs hooks there (child-token authenticated), games and
// hostile bots behave as in-process, and the transcript still verifies.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTranscript } from '../../../client/verify/verify.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { botRunnerServerSpec } from '../../../servers/bot-runner/server.ts';
import { channelsServerSpec } from '../../../servers/channels/server.ts';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { connectAgent, createHarness, issuer, type Harness } from './harness.ts';
import { collectTranscript, toolCallerFor } from '../../../client/verify/fetch.ts';
import { loadJwks } from '../../../auth/keys.ts';

describe('channels with a separate bot-runner server', () => {
  let h: Harness;
  let runner: RunningKitServer;
  let channels: RunningKitServer;

  beforeAll(async () => {
    h = await createHarness();
    runner = await startKitServer(botRunnerServerSpec, {
      dataDir: join(h.dir, 'runner'),
      keysDir: h.keysDir,
      issuer,
      port: 0,
      logger: createSilentLogger(),
    });
    channels = await startKitServer(channelsServerSpec, {
      dataDir: h.dataDir,
      keysDir: h.keysDir,
      issuer,
      port: 0,
      logger: createSilentLogger(),
      flags: { 'bot-runner-url': runner.url },
    });
  });
  afterAll(async () => {
    await channels?.close();
    await runner?.close();
    await h?.cleanup();
  });

  it('runs every hook on the bot-runner and the game verifies', async () => {
    const alice = await connectAgent(channels.url, h, 'alice');
    try {
      const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
        'create_channel',
        {
          name: 'remote',
          slots: ['bot:ref', 'invite:a'],
          bot_code: counterBot,
          bot_params: { rounds: 2 },
        },
      );
      await alice.call('join_channel', { invite_code: created.invites[0]!.code, seed: 's' });
      await alice.call('post_message', { channel_id: created.channel_id, body: 1 });
      const last = await alice.call<{ replies: Array<{ kind: string }> }>('post_message', {
        channel_id: created.channel_id,
        body: 2,
      });
      expect(last.replies.map((r) => r.kind)).toEqual([
        'bot',
        'game:over',
        'fairness:reveal',
        'fairness:commit',
      ]);
      const transcript = await collectTranscript(toolCallerFor(alice.client, ''), created.channel_id);
      const report = await verifyTranscript(transcript, {
        jwks: await loadJwks(h.keysDir),
        runHook: runBotHook,
      });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await alice.close();
    }
  });

  it('turns a looping bot on the bot-runner into a bot:error and carries on', async () => {
    const alice = await connectAgent(channels.url, h, 'alice');
    try {
      const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
        'create_channel',
        {
          name: 'loop',
          slots: ['bot:ref', 'invite:a'],
          bot_code: 'class L { constructor(ctx) {} onMessage() { for (;;) {} } }',
        },
      );
      await alice.call('join_channel', { invite_code: created.invites[0]!.code });
      const posted = await alice.call<{ replies: Array<{ kind: string; body: { code: string } }> }>(
        'post_message',
        { channel_id: created.channel_id, body: 'go' },
      );
      expect(posted.replies.find((r) => r.kind === 'bot:error')?.body.code).toMatch(
        /^ERR_BOT_(TIMEOUT|MEMORY)$/,
      );
      await alice.call('post_message', { channel_id: created.channel_id, body: 'still alive' });
    } finally {
      await alice.close();
    }
  }, 30_000);

  it('refuses run_hook calls without a child token for the bot-runner', async () => {
    const wrongAudience = await connectAgent(runner.url, h, 'alice').catch((error: unknown) => error);
    expect(wrongAudience).toBeInstanceOf(Error);
    const ok = await connectAgent(runner.url, h, 'alice', { child: 'bot-runner' });
    try {
      const out = await ok.call<{ posts: Array<{ kind: string }> }>('run_hook', {
        source: counterBot,
        hook: 'init',
        randomKey: 'ab'.repeat(32),
        randomCounter: 0,
        now: 1,
      });
      expect(out.posts[0]!.kind).toBe('bot');
    } finally {
      await ok.close();
    }
  });
});
