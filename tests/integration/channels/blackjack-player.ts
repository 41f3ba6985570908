// A BlackjackBot table player for tests, and an independent referee of a finished hand. The player deals, then
// on each prompt the seated agent whose turn it is hits (once if nobody has hit yet this hand, then below 12) or
// stands, so a hand has a hit and usually a player left for the dealer to play against. `handProblems` re-derives the hand from the revealed deck — the deal order, each hit card, the dealer's
// draws under S17 and the deck commitment — without the bot's code. It must not start servers or verify chains.
import type { ChannelMessage } from '../../../servers/channels/transcript.ts';
import { sha256Hex } from '../../../servers/channels/transcript.ts';
import type { ProxyAgent } from './proxy-agents.ts';

export interface Reply {
  seq: number;
  kind: string;
  reply_to?: number;
  body: Record<string, unknown>;
}

export interface Move {
  agent: string;
  slot: string;
  command: 'hit' | 'stand';
  /** The seq the player's message got. */
  seq: number;
  replies: Reply[];
}

export interface HandProgress {
  /** The seq of the "deal" message. */
  dealSeq: number;
  moves: Move[];
  /** The slot whose turn the bot announced last, while the hand runs. */
  turn: string | undefined;
  cards: Map<string, string[]>;
  over: Reply | undefined;
}

interface Posted {
  seq: number;
  replies: Reply[];
}

/** Best total of a hand (an ace counts 11 when that does not bust). */
export function score(cards: readonly string[]): { total: number; soft: boolean } {
  let total = 0;
  let aces = 0;
  for (const card of cards) {
    const rank = card.slice(0, -1);
    if (rank === 'A') aces += 1;
    total += rank === 'A' ? 1 : ['J', 'Q', 'K'].includes(rank) ? 10 : Number(rank);
  }
  const soft = aces > 0 && total + 10 <= 21;
  return { total: soft ? total + 10 : total, soft };
}

function absorb(hand: HandProgress, replies: readonly Reply[]): void {
  for (const reply of replies) {
    if (reply.kind === 'game:deal') {
      for (const p of reply.body.players as Array<{ slot: string; cards: string[] }>)
        hand.cards.set(p.slot, [...p.cards]);
    }
    if (reply.kind === 'game:hit')
      hand.cards.set(String(reply.body.slot), [...(reply.body.cards as string[])]);
    if (reply.kind === 'bot' && typeof reply.body.turn === 'string') hand.turn = reply.body.turn;
    if (reply.kind === 'game:over') {
      hand.over = reply;
      hand.turn = undefined;
    }
  }
}

/** `dealer` posts "deal"; the hand may already be over (a dealer blackjack, or every player on a natural). */
export async function deal(dealer: ProxyAgent, channelId: string): Promise<HandProgress> {
  const posted = await dealer.call<Posted>('post_message', { channel_id: channelId, body: 'deal' });
  const hand: HandProgress = {
    dealSeq: posted.seq,
    moves: [],
    turn: undefined,
    cards: new Map(),
    over: undefined,
  };
  if (!posted.replies.some((r) => r.kind === 'game:deal')) throw new Error('no game:deal in the replies');
  absorb(hand, posted.replies);
  return hand;
}

/** The seated agent whose turn it is makes one move. */
export async function playMove(
  seats: ReadonlyMap<string, ProxyAgent>,
  channelId: string,
  hand: HandProgress,
): Promise<Move> {
  const slot = hand.turn;
  const player = slot === undefined ? undefined : seats.get(slot);
  if (slot === undefined || player === undefined) throw new Error(`no player to move (turn ${slot})`);
  const total = score(hand.cards.get(slot) ?? []).total;
  const command = total < 12 || !hand.moves.some((m) => m.command === 'hit') ? 'hit' : 'stand';
  const posted = await player.call<Posted>('post_message', { channel_id: channelId, body: command });
  const move: Move = { agent: player.agent, slot, command, seq: posted.seq, replies: posted.replies };
  hand.moves.push(move);
  absorb(hand, posted.replies);
  return move;
}

/** Plays moves until the bot posts `game:over` (bounded: a hand cannot take more moves than the deck has cards). */
export async function playToEnd(
  seats: ReadonlyMap<string, ProxyAgent>,
  channelId: string,
  hand: HandProgress,
): Promise<Reply> {
  for (let i = 0; i < 60 && hand.over === undefined; i += 1) await playMove(seats, channelId, hand);
  if (hand.over === undefined) throw new Error('the hand did not end');
  return hand.over;
}

/** Whether some player ended the hand neither bust nor on a natural: then the dealer must play it out. */
export function dealerMustPlay(over: { body: unknown }): boolean {
  const { results } = over.body as { results: Array<{ cards: string[]; total: number }> };
  return results.some((r) => r.total <= 21 && !(r.cards.length === 2 && r.total === 21));
}

/**
 * Everything wrong with the hand that starts at the `game:deal` replying to `dealSeq`, judged from the transcript
 * alone: the revealed deck must match the commitment and account for every card dealt, hit and drawn by the dealer,
 * and the dealer must draw below 17 and stand from 17 on (soft 17 included) unless no player is left to beat.
 */
export function handProblems(messages: readonly ChannelMessage[], dealSeq: number): string[] {
  const problems: string[] = [];
  const from = messages.findIndex((m) => m.kind === 'game:deal' && m.reply_to === dealSeq);
  const to = messages.findIndex((m, i) => i > from && m.kind === 'game:over');
  if (from < 0 || to < 0) return ['no game:deal … game:over for this hand'];
  const dealt = messages[from]!.body as {
    commitment: string;
    players: Array<{ slot: string; cards: string[] }>;
    dealer: { up: string };
  };
  const over = messages[to]!.body as {
    dealer: { cards: string[]; total: number };
    results: Array<{ slot: string; cards: string[]; total: number; outcome: string }>;
    reveal: { deck: string[]; salt: string; commitment: string; dealt: number };
  };
  const { deck, salt } = over.reveal;
  if (sha256Hex(`${deck.join(' ')}:${salt}`) !== dealt.commitment)
    problems.push('deck does not match commitment');
  let next = 0;
  const expectCard = (card: string | undefined, what: string) => {
    if (card !== deck[next]) problems.push(`${what}: ${card} is not deck[${next}] ${deck[next]}`);
    next += 1;
  };
  for (let round = 0; round < 2; round += 1) {
    for (const p of dealt.players) expectCard(p.cards[round], `${p.slot} card ${round + 1}`);
    expectCard(over.dealer.cards[round], `dealer card ${round + 1}`);
  }
  if (over.dealer.cards[0] !== dealt.dealer.up) problems.push('dealer up card changed');
  for (const hit of messages.slice(from, to).filter((m) => m.kind === 'game:hit')) {
    const body = hit.body as { slot: string; card: string };
    expectCard(body.card, `${body.slot} hit`);
  }
  const live = dealerMustPlay(messages[to]!);
  const dealer = over.dealer.cards;
  if (live) {
    for (let n = 2; n < dealer.length; n += 1) {
      if (score(dealer.slice(0, n)).total >= 17)
        problems.push(`dealer drew on ${score(dealer.slice(0, n)).total}`);
      expectCard(dealer[n], `dealer draw ${n - 1}`);
    }
    if (score(dealer).total < 17 && score(dealer.slice(0, 2)).total !== 21)
      problems.push(`dealer stood on ${score(dealer).total}`);
  } else if (dealer.length !== 2) problems.push('dealer drew with no player left to beat');
  if (score(dealer).total !== over.dealer.total) problems.push('dealer total misreported');
  if (over.reveal.dealt !== next)
    problems.push(`reveal says ${over.reveal.dealt} cards dealt, counted ${next}`);
  return problems;
}
