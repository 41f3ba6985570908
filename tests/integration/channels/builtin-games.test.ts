// Two agents play the builtin bots to the end over MCP (GuessBot: a full round; BlackjackBot: a full hand), then each
// verifies the live transcript with `mcpcp verify`; a tampered copy fails naming the altered message.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { issueChildToken } from '../../../auth/internal.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { registerVerify } from '../../../launcher/commands/verify.ts';
import type { RunningKitServer } from '../../../servers/_kit/main.ts';
import { sha256Hex } from '../../../servers/channels/transcript.ts';
import {
  connectAgent,
  createHarness,
  issuer,
  startInProcess,
  type AgentClient,
  type Harness,
} from './harness.ts';

addCommands(registerVerify);

interface Reply {
  seq: number;
  kind: string;
  body: Record<string, unknown>;
  from: { type: string };
}

async function runVerify(args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    return { code: await runCli(['verify', ...args]), output: lines.join('\n') };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

describe('builtin bot games over MCP', () => {
  let h: Harness;
  let server: RunningKitServer;
  let alice: AgentClient;
  let bob: AgentClient;

  beforeAll(async () => {
    h = await createHarness();
    server = await startInProcess(h);
  });
  afterEach(async () => {
    await Promise.allSettled([alice?.close(), bob?.close()]);
  });
  afterAll(async () => {
    await server?.close();
    await h?.cleanup();
  });

  async function table(preset: string, params?: unknown): Promise<string> {
    alice = await connectAgent(server.url, h, 'alice');
    bob = await connectAgent(server.url, h, 'bob', { modern: true });
    const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
      'create_channel',
      {
        name: preset,
        slots: ['bot:dealer', 'invite:alice', 'invite:bob'],
        bot_preset: preset,
        ...(params !== undefined ? { bot_params: params } : {}),
      },
    );
    await alice.call('join_channel', {
      invite_code: created.invites[0]!.code,
      seed: sha256Hex('alice entropy'),
    });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code, seed: sha256Hex('bob entropy') });
    return created.channel_id;
  }

  async function verifyBoth(channelId: string, label: string): Promise<string> {
    const jwks = join(h.keysDir, 'jwks.json');
    let saved = '';
    for (const name of ['alice', 'bob']) {
      const token = await issueChildToken(h.signer, { issuer, child: 'channels', agent: name });
      saved = join(h.dir, `${label}-${name}.json`);
      const result = await runVerify([
        '--url',
        server.url,
        '--namespace',
        '',
        '--token',
        token,
        '--channel',
        channelId,
        '--jwks',
        jwks,
        '--save',
        saved,
        '--json',
      ]);
      const report = JSON.parse(result.output) as {
        ok: boolean;
        checked: { reveals: number; bot_messages: number };
      };
      expect(report).toMatchObject({ ok: true });
      expect(report.checked.reveals).toBeGreaterThanOrEqual(1);
      expect(report.checked.bot_messages).toBeGreaterThan(0);
      expect(result.code).toBe(0);
    }
    return saved;
  }

  it('plays a full GuessBot round by bisection; the bot commitment and the channel reveal both check out', async () => {
    const channelId = await table('GuessBot');
    const history = await alice.call<{ messages: Reply[] }>('sync_messages', { channel_id: channelId });
    const commit = history.messages.find((m) => m.kind === 'game:commit')!;
    expect(commit.body.commitment).toMatch(/^[0-9a-f]{64}$/);
    let low = 1;
    let high = 100;
    let over: Reply | undefined;
    for (let turn = 0; turn < 10 && over === undefined; turn += 1) {
      const guess = Math.floor((low + high) / 2);
      const player = turn % 2 === 0 ? alice : bob;
      const posted = await player.call<{ replies: Reply[] }>('post_message', {
        channel_id: channelId,
        body: `guess ${guess}`,
      });
      const hint = posted.replies.find((r) => r.kind === 'game:hint')!;
      if (hint.body.hint === 'higher') low = guess + 1;
      if (hint.body.hint === 'lower') high = guess - 1;
      over = posted.replies.find((r) => r.kind === 'game:over');
    }
    expect(over).toBeDefined();
    const reveal = over!.body.reveal as { target: number; salt: string; commitment: string };
    expect(sha256Hex(`${reveal.target}:${reveal.salt}`)).toBe(commit.body.commitment);
    const saved = await verifyBoth(channelId, 'guess');

    // A copy where the bot "revealed" another target fails at exactly that message.
    const copy = JSON.parse(await readFile(saved, 'utf8')) as { messages: Reply[] };
    const forged = copy.messages.find((m) => m.kind === 'game:over')!;
    (forged.body.reveal as { target: number }).target += 1;
    const tampered = join(h.dir, 'guess-tampered.json');
    await writeFile(tampered, JSON.stringify(copy));
    const failed = await runVerify(['--file', tampered, '--jwks', join(h.keysDir, 'jwks.json'), '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.output)).toMatchObject({ ok: false, first_bad: { seq: forged.seq } });
  });

  it('plays a full BlackjackBot hand with two players and verifies the committed shuffle', async () => {
    const channelId = await table('BlackjackBot');
    const dealt = await alice.call<{ replies: Reply[] }>('post_message', {
      channel_id: channelId,
      body: 'deal',
    });
    const deal = dealt.replies.find((r) => r.kind === 'game:deal');
    expect(deal?.body.commitment).toMatch(/^[0-9a-f]{64}$/);
    let over = dealt.replies.find((r) => r.kind === 'game:over');
    for (let round = 0; round < 8 && over === undefined; round += 1) {
      for (const player of [alice, bob]) {
        const posted = await player.call<{ replies: Reply[] }>('post_message', {
          channel_id: channelId,
          body: 'stand',
        });
        over = posted.replies.find((r) => r.kind === 'game:over');
        if (over !== undefined) break;
      }
    }
    expect(over).toBeDefined();
    const saved = await verifyBoth(channelId, 'blackjack');
    const copy = JSON.parse(await readFile(saved, 'utf8')) as { messages: Reply[] };
    expect(copy.messages.filter((m) => m.kind === 'fairness:lock')).toHaveLength(1);
  });

  it('plays TicTacToeBot to a win, then a second game after "new" (a second fairness epoch)', async () => {
    const channelId = await table('TicTacToeBot');
    const moves: Array<[AgentClient, string]> = [
      [alice, 'move 1 1'],
      [bob, 'move 2 1'],
      [alice, 'move 1 2'],
      [bob, 'move 2 2'],
      [alice, 'move 1 3'],
    ];
    let over: Reply | undefined;
    for (const [player, move] of moves) {
      const posted = await player.call<{ replies: Reply[] }>('post_message', {
        channel_id: channelId,
        body: move,
      });
      over = posted.replies.find((r) => r.kind === 'game:over') ?? over;
    }
    expect(over).toBeDefined();
    await bob.call('post_message', { channel_id: channelId, body: 'new' });
    await bob.call('post_message', { channel_id: channelId, body: 'move 2 2' });
    const saved = await verifyBoth(channelId, 'tictactoe');
    const copy = JSON.parse(await readFile(saved, 'utf8')) as { messages: Reply[] };
    expect(copy.messages.filter((m) => m.kind === 'fairness:lock')).toHaveLength(2);
  });
});
