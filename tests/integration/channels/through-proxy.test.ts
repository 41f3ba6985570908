// The whole path: two agents with their own agent tokens reach the channels server through the real proxy (which
// sends the internal child JWT), play a GuessBot round and a BlackjackBot hand to the end, and both verify the
// transcript with `mcpcp verify` against the proxy; tampered copies of the saved export fail at the altered message.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../auth/keys.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { channelsServerSpec } from '../../../servers/channels/server.ts';
import { sha256Hex } from '../../../servers/channels/transcript.ts';
import {
  deal,
  dealerMustPlay,
  handProblems,
  playToEnd,
  type HandProgress,
  type Reply,
} from './blackjack-player.ts';
import {
  channelsProxyConfig,
  connectThroughProxy,
  issueOwnToken,
  readExport,
  runVerify,
  verifyThroughProxy,
  writeTampered,
  type ProxyAgent,
} from './proxy-agents.ts';

const issuer = 'http://mcpcp.test';

// Both revisions the proxy may speak to the child: 2026-07-28 (auto) and sessions (what the default fleet uses).
describe.each(['auto', '2025-11-25'] as const)(
  'channels through the proxy (protocol %s to the child)',
  (protocol) => {
    let dir: string;
    let keysDir: string;
    let channels: RunningKitServer | undefined;
    let proxy: RunningProxy | undefined;
    const tokens = new Map<string, string>();
    let open: ProxyAgent[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mcpcp-channels-proxy-'));
      keysDir = join(dir, 'keys');
      await generateKeyPair(keysDir);
      channels = await startKitServer(channelsServerSpec, {
        dataDir: join(dir, 'data'),
        keysDir,
        issuer,
        port: 0,
        logger: createSilentLogger(),
      });
      const yaml = `${channelsProxyConfig(issuer, channels.url, protocol)}
agents:
  alice: {}
  bob: {}
groups:
  players: [alice, bob]
policy:
  rules:
    - id: players-channels
      subjects: ['group:players']
      servers: [channels]
      allow: ['channels_*']
`;
      const configFile = join(dir, 'mcpcp.yaml');
      await writeFile(configFile, yaml);
      proxy = await startProxy({ config: parseConfig(yaml, configFile), logger: createSilentLogger() });
      for (const agent of ['alice', 'bob'])
        tokens.set(agent, await issueOwnToken(keysDir, proxy.urls, agent));
    });
    afterEach(async () => {
      await Promise.allSettled(open.map((a) => a.close()));
      open = [];
    });
    afterAll(async () => {
      await proxy?.close();
      await channels?.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function connect(agent: string): Promise<ProxyAgent> {
      const connected = await connectThroughProxy(proxy!.mcpUrl, agent, tokens.get(agent)!);
      open.push(connected);
      return connected;
    }

    /** alice creates a channel with `preset` in slot 1; both join with their own seeds. Returns the channel and seats. */
    async function table(alice: ProxyAgent, bob: ProxyAgent, preset: string) {
      const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
        'create_channel',
        {
          name: preset,
          slots: ['bot:ref', 'invite:alice', 'invite:bob'],
          bot_preset: preset,
        },
      );
      const seats = new Map<string, ProxyAgent>();
      for (const [i, player] of [alice, bob].entries()) {
        const joined = await player.call<{ view: { you: { agent: string; slot: string } } }>('join_channel', {
          invite_code: created.invites[i]!.code,
          seed: sha256Hex(`${player.agent} entropy`),
        });
        // Identity comes from the proxy's child token, minted from the agent's own token, not from the client.
        expect(joined.view.you.agent).toBe(player.agent);
        seats.set(joined.view.you.slot, player);
      }
      return { channelId: created.channel_id, seats };
    }

    /** Both agents verify the live channel through the proxy with their own tokens; returns alice's saved export. */
    async function verifyBoth(alice: ProxyAgent, bob: ProxyAgent, channelId: string, label: string) {
      let saved = '';
      for (const player of [bob, alice]) {
        saved = join(dir, `${label}-${player.agent}.json`);
        const { code, report } = await verifyThroughProxy(proxy!.mcpUrl, player, channelId, saved);
        expect(report).toMatchObject({ ok: true, first_bad: null, checked: { chain: true } });
        expect(report.checked.reveals).toBeGreaterThanOrEqual(1);
        expect(report.checked.bot_messages).toBeGreaterThan(0);
        expect(code).toBe(0);
      }
      return saved;
    }

    /** `mcpcp verify --file` on a tampered copy: exit 1, and the first bad message is `seq`. */
    async function expectTamperedFails(file: string, seq: number, check: string) {
      const { code, report } = await runVerify(['--file', file, '--jwks', join(keysDir, 'jwks.json')]);
      expect(report).toMatchObject({ ok: false, first_bad: { seq, check } });
      expect(code).toBe(1);
    }

    it('two agents play GuessBot through the proxy, both verify the transcript, and a tampered copy fails', async () => {
      const alice = await connect('alice');
      const bob = await connect('bob');
      const { channelId } = await table(alice, bob, 'GuessBot');
      let low = 1;
      let high = 100;
      let over: Reply | undefined;
      for (let turn = 0; turn < 10 && over === undefined; turn += 1) {
        const guess = Math.floor((low + high) / 2);
        const posted = await (turn % 2 ? bob : alice).call<{ seq: number; replies: Reply[] }>(
          'post_message',
          {
            channel_id: channelId,
            body: `guess ${guess}`,
          },
        );
        const hint = posted.replies.find((r) => r.kind === 'game:hint')!;
        expect(hint.reply_to).toBe(posted.seq);
        if (hint.body.hint === 'higher') low = guess + 1;
        if (hint.body.hint === 'lower') high = guess - 1;
        over = posted.replies.find((r) => r.kind === 'game:over');
      }
      expect(over).toBeDefined();
      // bob's check takes the keys from the proxy's /.well-known/jwks.json (the default), this one from the file.
      const withFile = await runVerify([
        '--url',
        proxy!.mcpUrl,
        '--token',
        alice.token,
        '--channel',
        channelId,
        '--jwks',
        join(keysDir, 'jwks.json'),
      ]);
      expect(withFile).toMatchObject({ code: 0, report: { ok: true } });
      const saved = await verifyBoth(alice, bob, channelId, 'guess');

      // The bot "revealing" another target: the stored hash no longer covers the body.
      const forgedReveal = join(dir, 'guess-forged-reveal.json');
      await writeTampered(saved, forgedReveal, over!.seq, (body) => {
        const b = body as { reveal: { target: number } };
        b.reveal.target += 1;
        return b;
      });
      await expectTamperedFails(forgedReveal, over!.seq, 'chain');

      // A player's guess changed and the chain re-hashed from there: the bot's re-run answers differently, and the
      // first message it would not have written is named (the guess itself is a valid agent message).
      const copy = await readExport(saved);
      const firstGuess = copy.messages.find((m) => m.from.type === 'agent' && m.kind === 'user')!;
      const hint = copy.messages.find((m) => m.reply_to === firstGuess.seq && m.kind === 'game:hint')!;
      const rechained = join(dir, 'guess-rechained.json');
      await writeTampered(saved, rechained, firstGuess.seq, () => 'guess 1', { rechain: true });
      await expectTamperedFails(rechained, hint.seq, 'bot');
    });

    it('two agents play a full BlackjackBot hand with a hit; the dealer plays S17; both verify; tampering fails', async () => {
      const alice = await connect('alice');
      const bob = await connect('bob');
      const { channelId, seats } = await table(alice, bob, 'BlackjackBot');
      // A hand can end before anyone acts (a dealer blackjack, two naturals) or with everyone bust (the dealer has
      // nothing to play): deal again until a hand has a hit and a player the dealer must play against.
      let hand: HandProgress | undefined;
      for (let tries = 0; tries < 12; tries += 1) {
        const next = await deal(tries % 2 ? bob : alice, channelId);
        const over = await playToEnd(seats, channelId, next);
        if (next.moves.some((m) => m.command === 'hit') && dealerMustPlay(over)) {
          hand = next;
          break;
        }
      }
      expect(hand).toBeDefined();
      const hit = hand!.moves.find((m) => m.command === 'hit')!;
      const hitReply = hit.replies.find((r) => r.kind === 'game:hit')!;
      expect(hitReply).toMatchObject({ reply_to: hit.seq, seq: hit.seq + 1, body: { slot: hit.slot } });
      const over = hand!.over!;
      expect(over.body).toMatchObject({ game: 'blackjack', results: expect.any(Array) as unknown });
      expect((over.body.results as unknown[]).length).toBe(2);
      const dealer = over.body.dealer as { cards: string[]; total: number };
      expect(dealer.total).toBeGreaterThanOrEqual(17); // S17: draws below 17, stands on any 17
      const kinds = hand!.moves.at(-1)!.replies.map((r) => r.kind);
      expect(kinds.slice(kinds.indexOf('game:over'))).toEqual([
        'game:over',
        'fairness:reveal',
        'fairness:commit',
      ]);

      const saved = await verifyBoth(alice, bob, channelId, 'blackjack');
      const copy = await readExport(saved);
      expect(handProblems(copy.messages, hand!.dealSeq)).toEqual([]);

      // The player's "hit" rewritten as "stand" in the saved export: that very message is the first bad one.
      const forgedMove = join(dir, 'blackjack-forged-move.json');
      await writeTampered(saved, forgedMove, hit.seq, () => 'stand');
      await expectTamperedFails(forgedMove, hit.seq, 'chain');

      // The bot's hit card swapped for another and the chain re-hashed: the re-run of the bot catches it there.
      const forgedCard = join(dir, 'blackjack-forged-card.json');
      await writeTampered(
        saved,
        forgedCard,
        hitReply.seq,
        (body) => ({ ...(body as object), card: hitReply.body.card === 'AS' ? 'KS' : 'AS' }),
        { rechain: true },
      );
      await expectTamperedFails(forgedCard, hitReply.seq, 'bot');
    }, 60_000);

    it('keeps a long poll through the proxy open past the proxy health-check interval', async () => {
      const alice = await connect('alice');
      const bob = await connect('bob');
      const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
        'create_channel',
        {
          name: 'long-poll',
          slots: ['invite:alice', 'invite:bob'],
        },
      );
      await alice.call('join_channel', { invite_code: created.invites[0]!.code });
      await bob.call('join_channel', { invite_code: created.invites[1]!.code });
      const start = await bob.call<{ cursor: number }>('sync_messages', { channel_id: created.channel_id });
      const waiting = bob.call<{ messages: Array<{ body: unknown }> }>('sync_messages', {
        channel_id: created.channel_id,
        cursor: start.cursor,
        wait_ms: 20_000,
      });
      await new Promise((r) => setTimeout(r, 7_000));
      await alice.call('post_message', { channel_id: created.channel_id, body: 'late news' });
      expect((await waiting).messages.map((m) => m.body)).toEqual(['late news']);
    }, 30_000);
  },
);
