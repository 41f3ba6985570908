// A channels server killed mid-game comes back and the game goes on: the fleet (launcher in-process) runs channels as
// a real HTTP child with `start:`; two agents with their own agent tokens play BlackjackBot through the proxy; the
// channels process gets SIGKILL with a hand running; once the supervisor has it back, the next move on the same
// channel is accepted with the next seq, the hand plays out, and both agents verify the whole transcript.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../auth/keys.ts';
import { loadConfig } from '../../../config/load.ts';
import { startFleet, type Fleet, type FleetEvent, type ServerRow } from '../../../launcher/fleet/fleet.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { sha256Hex, type ChannelMessage } from '../../../servers/channels/transcript.ts';
import { deal, handProblems, playMove, playToEnd, type HandProgress } from './blackjack-player.ts';
import {
  chainShape,
  channelsProxyConfig,
  connectThroughProxy,
  issueOwnToken,
  readExport,
  verifyThroughProxy,
  type ProxyAgent,
} from './proxy-agents.ts';

const issuer = 'http://mcpcp.restart.test';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a channels server killed mid-game through the proxy', () => {
  let dir: string;
  let fleet: Fleet | undefined;
  const events: FleetEvent[] = [];
  const agents: ProxyAgent[] = [];
  const pids = new Set<number>();

  const channelsRow = (): ServerRow => fleet!.status().servers.find((row) => row.id === 'channels')!;
  const childLog = () =>
    events
      .flatMap((e) => (e.event === 'child-log' ? [`[${e.stream}] ${e.line}`] : []))
      .slice(-20)
      .join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-channels-restart-'));
    await generateKeyPair(join(dir, 'keys'));
    const q = (value: string) => JSON.stringify(value);
    const args = [
      join(resolve('.'), 'servers/channels/main.ts'),
      '--keys-dir',
      join(dir, 'keys'),
      '--issuer',
      issuer,
      '--data-dir',
      join(dir, 'channels'),
    ];
    const file = join(dir, 'mcpcp.yaml');
    await writeFile(
      file,
      `${channelsProxyConfig(issuer, 'http://127.0.0.1:0/mcp', '2025-11-25')}
    readyTimeoutMs: 30000
    restart: { backoffMs: 100, maxBackoffMs: 2000 }
    start:
      command: ${q(process.execPath)}
      args: [${args.map(q).join(', ')}]
agents:
  alice: {}
  bob: {}
policy:
  rules:
    - { id: players, subjects: [alice, bob], servers: [channels], allow: ['channels_*'] }
`,
    );
    fleet = await startFleet({
      config: await loadConfig(file),
      dataDir: join(dir, 'run'),
      port: 0,
      logger: createSilentLogger(),
      onEvent: (event) => events.push(event),
    });
    const row = channelsRow();
    expect(row).toMatchObject({ state: 'ready', owner: 'launcher' });
    pids.add(row.pid!);
    const { proxy } = fleet.status();
    for (const agent of ['alice', 'bob']) {
      const token = await issueOwnToken(join(dir, 'keys'), proxy, agent);
      agents.push(await connectThroughProxy(proxy.mcpUrl, agent, token));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await fleet?.stop('test over');
    // The fleet stops (and reaps) its children; a channels process left behind would be a leak.
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('continues the same hand after SIGKILL and restart: next seq accepted, chain intact, both verify', async () => {
    const [alice, bob] = agents as [ProxyAgent, ProxyAgent];
    const created = await alice.call<{ channel_id: string; invites: Array<{ code: string }> }>(
      'create_channel',
      {
        name: 'restart',
        slots: ['bot:dealer', 'invite:alice', 'invite:bob'],
        bot_preset: 'BlackjackBot',
      },
    );
    const channelId = created.channel_id;
    const seats = new Map<string, ProxyAgent>();
    for (const [i, player] of [alice, bob].entries()) {
      const joined = await player.call<{ view: { you: { slot: string } } }>('join_channel', {
        invite_code: created.invites[i]!.code,
        seed: sha256Hex(`${player.agent} seed`),
      });
      seats.set(joined.view.you.slot, player);
    }

    // A hand that is still running after one move (a hand can end at the deal or at the first move).
    let hand: HandProgress | undefined;
    for (let tries = 0; tries < 12 && hand === undefined; tries += 1) {
      const next = await deal(alice, channelId);
      if (next.over !== undefined) continue;
      await playMove(seats, channelId, next);
      if (next.over === undefined) hand = next;
      else await playToEnd(seats, channelId, next);
    }
    expect(hand).toBeDefined();
    const before = await bob.call<{ messages: ChannelMessage[]; head: { seq: number; hash: string } }>(
      'sync_messages',
      { channel_id: channelId, cursor: 0, limit: 500 },
    );
    expect(before.head.seq).toBe(before.messages.at(-1)!.seq);

    const killed = channelsRow();
    process.kill(killed.pid!, 'SIGKILL');
    // Back means: the launcher has a new process ready, and the proxy routes to it again. If the proxy's health check
    // saw the outage it reconnects on its own backoff (bounded by maxBackoffMs above) and re-reads the catalog.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const row = channelsRow();
      const upstream = fleet!.proxy.gateway.upstreamStates().find((s) => s.id === 'channels');
      if (
        row.state === 'ready' &&
        row.pid !== killed.pid &&
        upstream?.state === 'ready' &&
        (await alice.tools().catch((): string[] => [])).includes('channels_post_message')
      )
        break;
      if (Date.now() > deadline)
        throw new Error(`channels not back (${JSON.stringify({ row, upstream })}):\n${childLog()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const back = channelsRow();
    pids.add(back.pid!);
    expect(isAlive(killed.pid!)).toBe(false);
    expect(back).toMatchObject({ restarts: 1, address: killed.address });
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'child-state', id: 'channels', state: 'down' }),
    );

    // The same agents' sessions with the proxy, the same channel: the next move is the next message.
    const move = await playMove(seats, channelId, hand!);
    expect(move.seq).toBe(before.head.seq + 1);
    expect(move.replies[0]).toMatchObject({
      seq: move.seq + 1,
      reply_to: move.seq,
      kind: `game:${move.command}`,
    });
    const over = await playToEnd(seats, channelId, hand!);
    expect(over.body).toMatchObject({ game: 'blackjack', hand: expect.any(Number) as unknown });

    for (const player of [alice, bob]) {
      const saved = join(dir, `restart-${player.agent}.json`);
      const { code, report } = await verifyThroughProxy(
        fleet!.status().proxy.mcpUrl,
        player,
        channelId,
        saved,
      );
      expect(report).toMatchObject({ ok: true, first_bad: null, checked: { chain: true } });
      expect(report.checked.heads).toBeGreaterThanOrEqual(1);
      expect(code).toBe(0);
      const { messages } = await readExport(saved);
      // What was there before the kill is still there, byte for byte, and the chain runs on from it.
      expect(messages.slice(0, before.messages.length)).toEqual(before.messages);
      expect(chainShape(messages)).toEqual({ contiguous: true, linked: true });
      expect(messages.map((m) => m.kind)).toContain('game:over');
      expect(handProblems(messages, hand!.dealSeq)).toEqual([]);
    }
  }, 120_000);
});
