// BlackjackBot — blackjack with a committed shuffle. This exact file is what runs, and its SHA-256 is announced.
//
// Rules:
//   • Players take seats by joining (or by their first message), in order; up to `maxPlayers` (default 6).
//   • "deal" (any seated player, when no hand is running) shuffles `decks` (default 1) 52-card decks with
//     Fisher–Yates driven by ctx.randomInt, draws a salt, and posts `game:deal` with
//     commitment = sha256(deck.join(' ') + ':' + salt) together with the opening cards. Cards come off the top
//     (deck[0], deck[1], …): two to each player in seat order, then two to the dealer (the second face down).
//   • If the dealer's up card is an ace or a ten-value card, the dealer peeks: a dealer blackjack ends the hand.
//   • Players act in seat order with "hit" or "stand". A bust or 21 ends a player's turn; a natural 21 stands.
//   • Dealer rules: the dealer draws to 17 and STANDS ON SOFT 17 (S17).
//   • Payouts (in units of one bet): blackjack +1.5 (3:2), win +1, push 0, loss −1. Running totals stay in state.
//   • The hand ends with `game:over`, revealing the whole deck and the salt: anyone can recompute the commitment
//     and check every card dealt.
// Params: { decks = 1, maxPlayers = 6 }.

const RANKS = ['A', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K'];
const SUITS = ['S', 'H', 'D', 'C'];

function settings(params) {
  const p = params && typeof params === 'object' ? params : {};
  const int = (v, d, lo, hi) => (Number.isSafeInteger(v) ? Math.min(hi, Math.max(lo, v)) : d);
  return { decks: int(p.decks, 1, 1, 8), maxPlayers: int(p.maxPlayers, 6, 1, 7) };
}

function textOf(body) {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && typeof body.text === 'string') return body.text;
  return '';
}

function rankOf(card) {
  return card.slice(0, -1);
}

/** Best total of a hand and whether it is soft (an ace counted as 11). */
function score(cards) {
  let total = 0;
  let aces = 0;
  for (const card of cards) {
    const rank = rankOf(card);
    if (rank === 'A') {
      aces += 1;
      total += 1;
    } else total += ['J', 'Q', 'K'].includes(rank) ? 10 : Number(rank);
  }
  const soft = aces > 0 && total + 10 <= 21;
  return { total: soft ? total + 10 : total, soft };
}

const isBlackjack = (cards) => cards.length === 2 && score(cards).total === 21;

function hex32(ctx) {
  let out = '';
  for (let i = 0; i < 4; i++)
    out += ctx
      .randomInt(2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out;
}

export default class BlackjackBot {
  constructor(ctx, params) {
    this.ctx = ctx;
    this.settings = settings(params);
    this.state = ctx.getState() || { seats: [], balances: {}, hand: null, hands: 0 };
  }

  onInit() {
    this.ctx.setState(this.state);
    this.ctx.post('bot', {
      text:
        'Blackjack table open. Join, then post "deal" to start a hand; "hit" or "stand" on your turn. ' +
        'Dealer draws to 17 and stands on soft 17; blackjack pays 3:2. Every shuffle is committed before the deal.',
      rules: {
        dealer: 'S17',
        blackjackPays: '3:2',
        decks: this.settings.decks,
        maxPlayers: this.settings.maxPlayers,
      },
    });
  }

  onJoin(event) {
    const slot = event && typeof event === 'object' ? event.slot : event;
    if (typeof slot !== 'string') return;
    if (this.seat(slot, event.agent)) this.ctx.setState(this.state);
  }

  onMessage(msg) {
    if (!msg || typeof msg.slot !== 'string') return; // only players' messages
    const command = textOf(msg.body).trim().toLowerCase();
    if (!['deal', 'hit', 'stand'].includes(command)) return;
    if (!this.seat(msg.slot, msg.agent)) {
      this.ctx.post('bot', { text: 'The table is full.', slot: msg.slot });
      return;
    }
    if (command === 'deal') this.deal();
    else this.act(msg.slot, command);
    this.ctx.setState(this.state);
  }

  /** Seats a new player if there is room; returns whether the slot is seated. */
  seat(slot, agent) {
    const s = this.state;
    if (s.seats.some((seat) => seat.slot === slot)) return true;
    if (s.seats.length >= this.settings.maxPlayers) return false;
    s.seats.push({ slot, agent: typeof agent === 'string' ? agent : null });
    if (!(slot in s.balances)) s.balances[slot] = 0;
    this.ctx.post('bot', {
      text: `${agent || slot} takes seat ${s.seats.length}.`,
      slot,
      seat: s.seats.length,
    });
    return true;
  }

  deal() {
    const s = this.state;
    if (s.hand) {
      this.ctx.post('bot', { text: 'A hand is already running.' });
      return;
    }
    const deck = [];
    for (let d = 0; d < this.settings.decks; d++)
      for (const suit of SUITS) for (const rank of RANKS) deck.push(rank + suit);
    // Fisher–Yates: for i from the end down to 1, swap deck[i] with deck[randomInt(i + 1)].
    for (let i = deck.length - 1; i > 0; i--) {
      const j = this.ctx.randomInt(i + 1);
      const t = deck[i];
      deck[i] = deck[j];
      deck[j] = t;
    }
    const salt = hex32(this.ctx);
    const commitment = this.ctx.sha256(`${deck.join(' ')}:${salt}`);
    const players = s.seats.map((seat) => ({ slot: seat.slot, cards: [], done: false }));
    const hand = { deck, salt, commitment, next: 0, players, dealer: [], turn: 0 };
    const draw = () => hand.deck[hand.next++];
    for (let round = 0; round < 2; round++) {
      for (const p of players) p.cards.push(draw());
      hand.dealer.push(draw());
    }
    for (const p of players) p.done = isBlackjack(p.cards);
    s.hand = hand;
    s.hands += 1;
    this.ctx.post('game:deal', {
      game: 'blackjack',
      hand: s.hands,
      commitment,
      scheme: "sha256(deck.join(' ') + ':' + salt), cards dealt from deck[0]",
      players: players.map((p) => ({ slot: p.slot, cards: p.cards, total: score(p.cards).total })),
      dealer: { up: hand.dealer[0] },
      text: `Hand ${s.hands}. Deck commitment ${commitment}. Dealer shows ${hand.dealer[0]}.`,
    });
    const up = rankOf(hand.dealer[0]);
    if ((up === 'A' || score([hand.dealer[0]]).total === 10) && isBlackjack(hand.dealer)) {
      this.finish('dealer blackjack');
      return;
    }
    this.advance();
  }

  act(slot, command) {
    const s = this.state;
    const hand = s.hand;
    if (!hand) {
      this.ctx.post('bot', { text: 'No hand is running. Post "deal".' });
      return;
    }
    const player = hand.players[hand.turn];
    if (!player || player.slot !== slot) {
      this.ctx.post('bot', { text: `Not your turn${player ? `; waiting for ${player.slot}` : ''}.`, slot });
      return;
    }
    if (command === 'hit') {
      const card = hand.deck[hand.next++];
      player.cards.push(card);
      const { total } = score(player.cards);
      if (total >= 21) player.done = true;
      this.ctx.post('game:hit', {
        slot,
        card,
        cards: player.cards,
        total,
        bust: total > 21,
        text: `${slot} draws ${card}: ${total}${total > 21 ? ', bust' : ''}.`,
      });
    } else {
      player.done = true;
      this.ctx.post('game:stand', { slot, total: score(player.cards).total, text: `${slot} stands.` });
    }
    this.advance();
  }

  /** Moves the turn to the next player who still acts, or plays the dealer. */
  advance() {
    const s = this.state;
    const hand = s.hand;
    while (hand.turn < hand.players.length && hand.players[hand.turn].done) hand.turn += 1;
    if (hand.turn < hand.players.length) {
      const p = hand.players[hand.turn];
      this.ctx.post('bot', { text: `${p.slot}: ${score(p.cards).total}. "hit" or "stand"?`, turn: p.slot });
      return;
    }
    if (hand.players.some((p) => score(p.cards).total <= 21 && !isBlackjack(p.cards))) {
      // Dealer draws to 17 and stands on all 17s, soft 17 included.
      while (score(hand.dealer).total < 17) hand.dealer.push(hand.deck[hand.next++]);
    }
    this.finish('dealer played');
  }

  finish(reason) {
    const s = this.state;
    const hand = s.hand;
    const dealer = score(hand.dealer).total;
    const dealerBlackjack = isBlackjack(hand.dealer);
    const results = hand.players.map((p) => {
      const total = score(p.cards).total;
      let outcome;
      let payout;
      if (isBlackjack(p.cards)) [outcome, payout] = dealerBlackjack ? ['push', 0] : ['blackjack', 1.5];
      else if (total > 21) [outcome, payout] = ['bust', -1];
      else if (dealerBlackjack) [outcome, payout] = ['lose', -1];
      else if (dealer > 21 || total > dealer) [outcome, payout] = ['win', 1];
      else if (total === dealer) [outcome, payout] = ['push', 0];
      else [outcome, payout] = ['lose', -1];
      s.balances[p.slot] = (s.balances[p.slot] || 0) + payout;
      return { slot: p.slot, cards: p.cards, total, outcome, payout, balance: s.balances[p.slot] };
    });
    s.hand = null;
    this.ctx.post('game:over', {
      game: 'blackjack',
      hand: s.hands,
      reason,
      dealer: { cards: hand.dealer, total: dealer, blackjack: dealerBlackjack },
      results,
      reveal: { deck: hand.deck, salt: hand.salt, commitment: hand.commitment, dealt: hand.next },
      text:
        `Dealer ${hand.dealer.join(' ')} = ${dealer}. ` +
        results.map((r) => `${r.slot}: ${r.outcome} (${r.payout >= 0 ? '+' : ''}${r.payout})`).join(', ') +
        '. Deck revealed.',
    });
  }
}
