// The demo's multiplayer part: two agents meet in a channel through the proxy, each with its own connection.
// The first creates a GuessBot channel and invites the second, who joins and guesses (binary search) until the bot
// declares the game over; both read the outcome, then each fetches the transcript and verifies it (hash chain,
// signed heads against the proxy's public JWKS, the bot's commit and reveal, a re-run of the bot's code).
// It must not print: lines go through `say`, disagreements are returned as problems.
import type { Client } from '@modelcontextprotocol/client';
import type { JSONWebKeySet } from 'jose';
import type { ChannelMessage } from '../servers/channels/transcript.ts';
import { collectTranscript, toolCallerFor } from './verify/fetch.ts';
import { verifyTranscript, type RunHook, type VerifyReport } from './verify/verify.ts';

export interface MultiplayerOptions {
  /** The creator first, then the player; each with its own proxy connection. */
  readonly players: readonly [{ agent: string; client: Client }, { agent: string; client: Client }];
  /** Tool name prefix of the channels server behind the proxy, e.g. 'channels_'. */
  readonly toolPrefix: string;
  readonly jwks: JSONWebKeySet;
  readonly runHook: RunHook;
  readonly say: (line: string) => void;
  /** Guesses before the demo gives up (GuessBot ends a round after 10 anyway). */
  readonly maxGuesses?: number;
}

export interface MultiplayerReport {
  readonly channelId: string;
  readonly guesses: readonly { guess: number; hint: string }[];
  readonly over: boolean;
  /** The number GuessBot revealed, and whether the server found its seed matching the commitment. */
  readonly target: number | undefined;
  readonly revealValid: boolean;
  readonly verified: readonly {
    agent: string;
    ok: boolean;
    messages: number;
    firstBad: string | undefined;
  }[];
  readonly problems: readonly string[];
}

type Reply = Pick<ChannelMessage, 'kind' | 'body'>;
type GameOver = { winner?: string | null; reveal?: { target?: number; commitment?: string } };

const short = (hash: unknown) => `${String(hash).slice(0, 12)}…`;

export async function runMultiplayer(options: MultiplayerOptions): Promise<MultiplayerReport> {
  const { say } = options;
  const [creator, player] = options.players;
  const callAs = (who: { client: Client }) => toolCallerFor(who.client, options.toolPrefix);
  const create = callAs(creator);
  const play = callAs(player);
  const problems: string[] = [];

  const created = (await create('create_channel', {
    name: 'demo: guess the number',
    slots: ['bot:referee', `invite:${creator.agent}`, `invite:${player.agent}`],
    bot_preset: 'GuessBot',
  })) as { channel_id: string; invites: { code: string }[]; view: { bot?: { code_hash?: string } } };
  const channelId = created.channel_id;
  const [ownInvite, guestInvite] = created.invites;
  if (ownInvite === undefined || guestInvite === undefined)
    throw new Error('create_channel returned no invites');
  say(
    `🎲 ${creator.agent} creates GuessBot channel ${channelId} (bot code sha256 ${short(created.view.bot?.code_hash)}) and invites ${player.agent}`,
  );
  await create('join_channel', { invite_code: ownInvite.code, seed: `${creator.agent}-demo-seed` });
  await play('join_channel', { invite_code: guestInvite.code, seed: `${player.agent}-demo-seed` });

  // Binary search over GuessBot's announced range.
  let low = 1;
  let high = 100;
  let over: GameOver | undefined;
  const guesses: { guess: number; hint: string }[] = [];
  for (let turn = 0; turn < (options.maxGuesses ?? 10) && over === undefined && low <= high; turn += 1) {
    const guess = Math.floor((low + high) / 2);
    const posted = (await play('post_message', { channel_id: channelId, body: `guess ${guess}` })) as {
      replies: Reply[];
    };
    const hint = String(
      (posted.replies.find((r) => r.kind === 'game:hint')?.body as { hint?: string } | undefined)?.hint ??
        'no answer',
    );
    guesses.push({ guess, hint });
    if (hint === 'higher') low = guess + 1;
    else if (hint === 'lower') high = guess - 1;
    over = posted.replies.find((r) => r.kind === 'game:over')?.body as GameOver | undefined;
  }
  say(`   ${player.agent} joins and guesses: ${guesses.map((g) => `${g.guess} ${g.hint}`).join(', ')}`);
  if (over === undefined) problems.push(`the game was not over after ${guesses.length} guesses`);

  // The creator reads the outcome from the channel itself, not from the player's replies.
  const synced = (await create('sync_messages', { channel_id: channelId, cursor: 0, limit: 500 })) as {
    messages: ChannelMessage[];
  };
  const seenOver = synced.messages.find((m) => m.from.type === 'bot' && m.kind === 'game:over');
  const reveal = synced.messages.find((m) => m.from.type === 'system' && m.kind === 'fairness:reveal');
  const revealValid = (reveal?.body as { valid?: unknown } | undefined)?.valid === true;
  const target = (seenOver?.body as GameOver | undefined)?.reveal?.target;
  if (over !== undefined) {
    const winner = over.winner ? `${player.agent} wins` : 'nobody hit it';
    say(`   ${player.agent} sees: game over, the number was ${over.reveal?.target} (${winner})`);
  }
  if (seenOver === undefined) problems.push(`${creator.agent} does not see the game:over message`);
  else
    say(
      `   ${creator.agent} sees: the same result in the channel (${synced.messages.length} messages); the server ` +
        `revealed the bot's seed and it ${revealValid ? 'matches' : 'does NOT match'} the commitment`,
    );
  if (seenOver !== undefined && !revealValid)
    problems.push('the revealed seed does not match the commitment');

  const verified: { agent: string; ok: boolean; messages: number; firstBad: string | undefined }[] = [];
  for (const who of [creator, player]) {
    const transcript = await collectTranscript(callAs(who), channelId);
    const report: VerifyReport = await verifyTranscript(transcript, {
      jwks: options.jwks,
      runHook: options.runHook,
    });
    const firstBad = report.first_bad
      ? `#${report.first_bad.seq ?? '-'} ${report.first_bad.reason}`
      : undefined;
    verified.push({ agent: who.agent, ok: report.ok, messages: report.messages, firstBad });
    if (!report.ok) problems.push(`${who.agent}'s copy of the transcript fails verification: ${firstBad}`);
    else if (report.checked.heads === 0 || report.checked.bot_messages === 0)
      problems.push(`${who.agent}'s verification checked no signed head or no bot message`);
  }
  if (verified.every((v) => v.ok)) {
    say(
      `🔏 transcript verified by ${verified.map((v) => v.agent).join(' and ')}: hash chain, signed heads, ` +
        `commit/reveal, bot re-run`,
    );
  }
  return { channelId, guesses, over: over !== undefined, target, revealValid, verified, problems };
}
