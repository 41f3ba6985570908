// The builtin bots played through runBotHook the way a channel drives them: state and randomCounter carried from
// hook to hook, one fixed randomKey. Games are deterministic, so outcomes are asserted exactly, and the fairness
// artefacts (commitments, the revealed deck) are checked the way a verifier would.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinBot, builtinBotNames } from '../../../servers/bot-runner/builtin/index.ts';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';
import { createRandomStream } from '../../../servers/sandbox/random-stream.ts';

const KEY = '0f'.repeat(32);
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Post {
  kind: string;
  body: Record<string, unknown> & { text?: string };
}

/** A minimal channel: runs hooks in order, carrying state and the random counter, failing on any bot error. */
function table(name: string, params: unknown = null, randomKey = KEY) {
  const bot = builtinBot(name);
  if (bot === undefined) throw new Error(`no builtin ${name}`);
  let state: unknown = null;
  let randomCounter = 0;
  let seq = 0;
  const transcript: Post[] = [];
  const run = async (hook: 'init' | 'join' | 'message', event: unknown): Promise<Post[]> => {
    seq += 1;
    const out = await runBotHook({
      source: bot.source,
      params,
      hook,
      event,
      state,
      randomKey,
      randomCounter,
      now: 1_790_000_000_000 + seq * 1000,
    });
    expect(out.error).toBeUndefined();
    state = out.state;
    randomCounter = out.randomCounter;
    const posts = out.posts as Post[];
    transcript.push(...posts);
    return posts;
  };
  return {
    init: () => run('init', { channelId: 'ch_test', slots: [] }),
    join: (slot: string, agent: string) => run('join', { slot, agent }),
    say: (slot: string, body: unknown) =>
      run('message', { seq, ts: 0, slot, agent: `agent-${slot}`, kind: 'user', body }),
    get counter() {
      return randomCounter;
    },
    transcript,
  };
}

const only = (posts: Post[], kind: string): Post => {
  const found = posts.filter((p) => p.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('builtin registry', () => {
  it('serves the real .js files byte for byte under names and aliases', () => {
    expect(builtinBotNames).toEqual(['GuessBot', 'BlackjackBot', 'TicTacToeBot']);
    for (const [name, file] of [
      ['GuessBot', 'guess-bot.js'],
      ['blackjack', 'blackjack-bot.js'],
      ['tic-tac-toe', 'tictactoe-bot.js'],
    ] as const) {
      const bot = builtinBot(name);
      const onDisk = readFileSync(
        new URL(`../../../servers/bot-runner/builtin/${file}`, import.meta.url),
        'utf8',
      );
      expect(bot?.source).toBe(onDisk);
      expect(bot?.manifest).toMatchObject({ version: '1.0.0', file });
      expect(Array.isArray(bot?.manifest['commands'])).toBe(true);
    }
    expect(builtinBot('NoSuchBot')).toBeUndefined();
  });
});

describe('GuessBot', () => {
  it('plays a full game to a winner', async () => {
    const t = table('GuessBot');
    const commitment = only(await t.init(), 'game:commit').body['commitment'];
    expect(commitment).toMatch(/^[0-9a-f]{64}$/);
    // the target is the stream's first draw: a verifier recomputes it once the key is revealed
    const target = 1 + createRandomStream(KEY, 0).randomInt(100);
    await t.join('s1', 'alice');
    await t.join('s2', 'bob');
    expect(await t.say('s1', 'hi bob')).toEqual([]); // chat is ignored
    expect(JSON.stringify(t.transcript)).not.toMatch(/"target"|"salt"/); // nothing secret before the reveal
    const low = target > 1 ? target - 1 : target + 1;
    const hint = only(await t.say('s1', `guess ${low}`), 'game:hint');
    expect(hint.body).toMatchObject({
      slot: 's1',
      guess: low,
      hint: low < target ? 'higher' : 'lower',
      guessesLeft: 9,
    });
    const last = await t.say('s2', { text: `guess ${target}` });
    expect(only(last, 'game:hint').body['hint']).toBe('correct');
    const over = only(last, 'game:over').body as {
      winner: string;
      reveal: { target: number; salt: string; commitment: string };
    };
    expect(over.winner).toBe('s2');
    expect(over.reveal.target).toBe(target);
    expect(over.reveal.commitment).toBe(commitment);
    expect(sha256(`${over.reveal.target}:${over.reveal.salt}`)).toBe(commitment);
    // after game over, guesses are refused until "new", which commits afresh
    expect(only(await t.say('s1', 'guess 5'), 'bot').body.text).toMatch(/No round/);
    const again = only(await t.say('s1', 'new'), 'game:commit');
    expect(again.body).toMatchObject({ round: 2 });
    expect(again.body['commitment']).not.toBe(commitment);
  });

  it('ends with no winner after maxGuesses and names the closest guess', async () => {
    const t = table('GuessBot', { min: 1, max: 10, maxGuesses: 2 });
    await t.init();
    const target = 1 + createRandomStream(KEY, 0).randomInt(10);
    const wrong = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((n) => n !== target);
    const far = wrong.reduce((a, b) => (Math.abs(b - target) > Math.abs(a - target) ? b : a));
    const near = wrong.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a));
    await t.say('s1', `guess ${far}`);
    const posts = await t.say('s2', `guess ${near}`);
    expect(only(posts, 'game:over').body).toMatchObject({
      winner: null,
      reason: 'no guesses left',
      closest: { slot: 's2', guess: near },
      reveal: { target },
    });
  });

  it('refuses out-of-range guesses without using one up', async () => {
    const t = table('GuessBot');
    await t.init();
    expect(only(await t.say('s1', 'guess 1000'), 'bot').body.text).toMatch(/between 1 and 100/);
    const status = only(await t.say('s1', 'status'), 'bot');
    expect(status.body['guesses']).toEqual([]);
  });

  it('replays to the identical transcript', async () => {
    const play = async () => {
      const t = table('GuessBot');
      await t.init();
      for (const n of [50, 25, 75, 12, 88]) await t.say('s1', `guess ${n}`);
      return t.transcript;
    };
    expect(await play()).toEqual(await play());
  });
});

const RANKS = ['A', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K'];
const SUITS = ['S', 'H', 'D', 'C'];

/** What a verifier does: rebuild the shuffle from the key and counter with the documented Fisher–Yates. */
function shuffledDeck(key: string, counter: number): string[] {
  const deck = SUITS.flatMap((suit) => RANKS.map((rank) => rank + suit));
  const stream = createRandomStream(key, counter);
  for (let i = deck.length - 1; i > 0; i--) {
    const j = stream.randomInt(i + 1);
    [deck[i], deck[j]] = [deck[j]!, deck[i]!];
  }
  return deck;
}

function total(cards: string[]): { total: number; soft: boolean } {
  let sum = 0;
  let aces = 0;
  for (const c of cards) {
    const r = c.slice(0, -1);
    if (r === 'A') aces += 1;
    sum += r === 'A' ? 1 : ['J', 'Q', 'K'].includes(r) ? 10 : Number(r);
  }
  const soft = aces > 0 && sum + 10 <= 21;
  return { total: soft ? sum + 10 : sum, soft };
}

/** First key whose one-player deal satisfies `want(player, dealer)`. */
function findKey(want: (player: string[], dealer: string[]) => boolean): string {
  for (let i = 0; i < 5000; i++) {
    const key = createHash('sha256').update(`key-${i}`).digest('hex');
    const d = shuffledDeck(key, 0);
    if (want([d[0]!, d[2]!], [d[1]!, d[3]!])) return key;
  }
  throw new Error('no key found');
}

interface DealBody {
  commitment: string;
  players: Array<{ slot: string; cards: string[] }>;
  dealer: { up: string };
}
interface OverBody {
  dealer: { cards: string[]; total: number };
  results: Array<{ slot: string; outcome: string; payout: number; balance: number }>;
  reveal: { deck: string[]; salt: string; commitment: string; dealt: number };
}

describe('BlackjackBot', () => {
  it('deals two players from a committed shuffle and reveals a deck that proves every card', async () => {
    const t = table('BlackjackBot');
    await t.init();
    await t.join('s1', 'alice');
    await t.join('s2', 'bob');
    const counterAtDeal = t.counter;
    const dealPosts = await t.say('s1', 'deal');
    const deal = only(dealPosts, 'game:deal').body as unknown as DealBody;
    const deck = shuffledDeck(KEY, counterAtDeal);
    expect(deal.players).toEqual([
      { slot: 's1', cards: [deck[0], deck[3]], total: total([deck[0]!, deck[3]!]).total },
      { slot: 's2', cards: [deck[1], deck[4]], total: total([deck[1]!, deck[4]!]).total },
    ]);
    expect(deal.dealer.up).toBe(deck[2]);
    // play: stand on 17+, hit otherwise, whoever's turn it is; wrong-turn moves are refused
    let over: OverBody | undefined = dealPosts.find((p) => p.kind === 'game:over')?.body as
      OverBody | undefined;
    let guard = 0;
    while (over === undefined && guard++ < 20) {
      const turn = [...t.transcript].reverse().find((p) => p.kind === 'bot' && 'turn' in p.body)?.body[
        'turn'
      ] as string;
      const other = turn === 's1' ? 's2' : 's1';
      expect(only(await t.say(other, 'hit'), 'bot').body.text).toMatch(/Not your turn/);
      const mine = deal.players.find((p) => p.slot === turn)!;
      const hitsSoFar = t.transcript.filter((p) => p.kind === 'game:hit' && p.body['slot'] === turn);
      const cards = hitsSoFar.length ? (hitsSoFar.at(-1)!.body['cards'] as string[]) : mine.cards;
      const posts = await t.say(turn, total(cards).total >= 17 ? 'stand' : 'hit');
      over = posts.find((p) => p.kind === 'game:over')?.body as OverBody | undefined;
    }
    expect(over).toBeDefined();
    const { reveal, dealer, results } = over!;
    expect(reveal.commitment).toBe(deal.commitment);
    expect(reveal.deck).toEqual(deck);
    expect([...reveal.deck].sort()).toEqual(SUITS.flatMap((s) => RANKS.map((r) => r + s)).sort());
    expect(sha256(`${reveal.deck.join(' ')}:${reveal.salt}`)).toBe(deal.commitment);
    expect(dealer.cards.slice(0, 2)).toEqual([deck[2], deck[5]]);
    expect(results.map((r) => r.slot)).toEqual(['s1', 's2']);
    for (const r of results) expect(['win', 'lose', 'push', 'bust', 'blackjack']).toContain(r.outcome);
  });

  it('stands on soft 17', async () => {
    const key = findKey((p, d) => total(d).soft && total(d).total === 17 && total(p).total < 21);
    const t = table('BlackjackBot', null, key);
    await t.init();
    await t.join('s1', 'alice');
    await t.say('s1', 'deal');
    const over = only(await t.say('s1', 'stand'), 'game:over').body as unknown as OverBody;
    expect(over.dealer.cards).toHaveLength(2);
    expect(over.dealer.total).toBe(17);
  });

  it('hits a hard 16', async () => {
    const key = findKey((p, d) => !total(d).soft && total(d).total === 16 && total(p).total < 21);
    const t = table('BlackjackBot', null, key);
    await t.init();
    await t.join('s1', 'alice');
    await t.say('s1', 'deal');
    const over = only(await t.say('s1', 'stand'), 'game:over').body as unknown as OverBody;
    expect(over.dealer.cards.length).toBeGreaterThan(2);
    expect(over.dealer.total).toBeGreaterThanOrEqual(17);
  });

  it('pays a natural blackjack 3:2 and ends the hand at once', async () => {
    const key = findKey((p, d) => total(p).total === 21 && total(d).total !== 21);
    const t = table('BlackjackBot', null, key);
    await t.init();
    await t.join('s1', 'alice');
    const over = only(await t.say('s1', 'deal'), 'game:over').body as unknown as OverBody;
    expect(over.results).toEqual([
      expect.objectContaining({ slot: 's1', outcome: 'blackjack', payout: 1.5, balance: 1.5 }),
    ]);
  });

  it('ends a bust hand without the dealer drawing and keeps balances across hands', async () => {
    const t = table('BlackjackBot');
    await t.init();
    await t.join('s1', 'alice');
    let balance = 0;
    for (let hand = 0; hand < 3; hand++) {
      let posts = await t.say('s1', 'deal');
      let over = posts.find((p) => p.kind === 'game:over');
      while (over === undefined) {
        posts = await t.say('s1', 'hit'); // always hit: ends in 21 or a bust
        over = posts.find((p) => p.kind === 'game:over');
      }
      const body = over.body as unknown as OverBody;
      const result = body.results[0]!;
      balance += result.payout;
      expect(result.balance).toBe(balance);
      if (result.outcome === 'bust') expect(body.dealer.cards).toHaveLength(2);
    }
    expect(only(await t.say('s1', 'stand'), 'bot').body.text).toMatch(/No hand/);
  });
});

describe('TicTacToeBot', () => {
  it('plays X to a win on a row, by join order, refusing illegal moves', async () => {
    const t = table('TicTacToeBot');
    await t.init();
    await t.join('s1', 'alice');
    const start = only(await t.join('s2', 'bob'), 'game:start');
    expect(start.body).toMatchObject({
      players: [
        { slot: 's1', mark: 'X' },
        { slot: 's2', mark: 'O' },
      ],
      next: 's1',
    });
    expect(only(await t.say('s2', 'move 1 1'), 'bot').body.text).toMatch(/Not your turn/);
    await t.say('s1', 'move 1 1');
    expect(only(await t.say('s2', 'move 1 1'), 'bot').body.text).toMatch(/taken/);
    expect(only(await t.say('s2', 'move 4 1'), 'bot').body.text).toMatch(/1 to 3/);
    expect(only(await t.say('s3', 'move 3 3'), 'bot').body.text).toMatch(/already playing/);
    await t.say('s2', 'move 2 1');
    await t.say('s1', 'move 1 2');
    await t.say('s2', 'move 2 2');
    const last = await t.say('s1', 'move 1 3');
    expect(only(last, 'game:move').body['board']).toEqual(['XXX', 'OO.', '...']);
    expect(only(last, 'game:over').body).toMatchObject({
      result: 'win',
      winner: 's1',
      mark: 'X',
      line: [
        [1, 1],
        [1, 2],
        [1, 3],
      ],
    });
    expect(only(await t.say('s2', 'move 3 3'), 'bot').body.text).toMatch(/over/);
  });

  it('detects a draw and starts a new game with marks swapped', async () => {
    const t = table('TicTacToeBot');
    await t.init();
    await t.join('s1', 'alice');
    await t.join('s2', 'bob');
    // X O X / X O O / O X X
    const moves: Array<[string, string]> = [
      ['s1', '1 1'],
      ['s2', '1 2'],
      ['s1', '1 3'],
      ['s2', '2 2'],
      ['s1', '2 1'],
      ['s2', '2 3'],
      ['s1', '3 2'],
      ['s2', '3 1'],
    ];
    for (const [slot, at] of moves)
      expect((await t.say(slot, `move ${at}`)).map((p) => p.kind)).toEqual(['game:move']);
    const last = await t.say('s1', 'move 3 3');
    expect(only(last, 'game:over').body).toMatchObject({
      result: 'draw',
      winner: null,
      board: ['XOX', 'XOO', 'OXX'],
    });
    const again = only(await t.say('s2', 'new'), 'game:start');
    expect(again.body).toMatchObject({
      game: 2,
      players: [
        { slot: 's1', mark: 'O' },
        { slot: 's2', mark: 'X' },
      ],
      next: 's2',
    });
  });
});
