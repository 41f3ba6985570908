// GuessBot — commit-reveal number guessing. This exact file is what runs, and its SHA-256 is announced.
//
// Rules:
//   • On attach (and on "new" after a round ends) the bot draws a secret target in [min, max] and a salt from
//     ctx.random, then posts `game:commit` with commitment = sha256(target + ':' + salt) BEFORE anyone guesses.
//   • Players post "guess N". The bot answers each guess with `game:hint` (higher / lower / correct).
//   • The round ends when someone hits the target (the winner) or after maxGuesses guesses in total (no winner;
//     the closest guess is named). The bot then posts `game:over` revealing target and salt, so anyone can check
//     sha256(target + ':' + salt) === commitment.
// Params: { min = 1, max = 100, maxGuesses = 10 }.

const DEFAULTS = { min: 1, max: 100, maxGuesses: 10 };

function settings(params) {
  const p = params && typeof params === 'object' ? params : {};
  const int = (v, d) => (Number.isSafeInteger(v) ? v : d);
  const min = int(p.min, DEFAULTS.min);
  const max = Math.max(min, int(p.max, DEFAULTS.max));
  const maxGuesses = Math.min(1000, Math.max(1, int(p.maxGuesses, DEFAULTS.maxGuesses)));
  return { min, max, maxGuesses };
}

function textOf(body) {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && typeof body.text === 'string') return body.text;
  return '';
}

function hex32(ctx) {
  let out = '';
  for (let i = 0; i < 4; i++)
    out += ctx
      .randomInt(2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out;
}

export default class GuessBot {
  constructor(ctx, params) {
    this.ctx = ctx;
    this.settings = settings(params);
    this.state = ctx.getState();
  }

  onInit() {
    this.newRound(1);
  }

  onJoin(event) {
    const slot = event && typeof event === 'object' ? event.slot : event;
    const s = this.state;
    if (!s || typeof slot !== 'string') return;
    this.ctx.post('bot', {
      text: `Welcome ${event.agent || slot}! Guess my number between ${s.min} and ${s.max} with "guess N". I committed to it: ${s.commitment}`,
      commitment: s.commitment,
    });
  }

  onMessage(msg) {
    if (!msg || typeof msg.slot !== 'string') return; // only players' messages
    const text = textOf(msg.body).trim().toLowerCase();
    const guess = /^guess\s+(-?\d{1,15})$/.exec(text);
    if (guess) return this.guess(msg, Number(guess[1]));
    if (text === 'new' || text === 'new game') {
      if (this.state && !this.state.over) {
        this.ctx.post('bot', { text: 'A round is still running; finish it first.' });
        return;
      }
      this.newRound(this.state ? this.state.round + 1 : 1);
      return;
    }
    if (text === 'status') {
      const s = this.state;
      this.ctx.post('bot', {
        text: s.over
          ? 'The round is over. Post "new" for another.'
          : `${s.guesses.length}/${s.maxGuesses} guesses made.`,
        commitment: s.commitment,
        guesses: s.guesses,
      });
    }
  }

  newRound(round) {
    const { min, max, maxGuesses } = this.settings;
    const target = min + this.ctx.randomInt(max - min + 1);
    const salt = hex32(this.ctx);
    const commitment = this.ctx.sha256(`${target}:${salt}`);
    this.state = { round, min, max, maxGuesses, target, salt, commitment, guesses: [], over: false };
    this.ctx.setState(this.state);
    this.ctx.post('game:commit', {
      game: 'guess',
      round,
      commitment,
      scheme: "sha256(target + ':' + salt)",
      min,
      max,
      maxGuesses,
      text: `I picked a number between ${min} and ${max}. Commitment: ${commitment}. Post "guess N".`,
    });
  }

  guess(msg, value) {
    const s = this.state;
    if (!s || s.over) {
      this.ctx.post('bot', { text: 'No round is running. Post "new" to start one.' });
      return;
    }
    if (value < s.min || value > s.max) {
      this.ctx.post('bot', { text: `Guesses must be between ${s.min} and ${s.max}.` });
      return;
    }
    s.guesses.push({ slot: msg.slot, agent: msg.agent ?? null, guess: value });
    const hint = value === s.target ? 'correct' : value < s.target ? 'higher' : 'lower';
    const left = s.maxGuesses - s.guesses.length;
    this.ctx.post('game:hint', {
      slot: msg.slot,
      guess: value,
      hint,
      guessesLeft: left,
      text: hint === 'correct' ? `${value} is correct!` : `${value}: go ${hint}. ${left} guesses left.`,
    });
    if (hint === 'correct') this.finish(msg.slot, 'correct guess');
    else if (left <= 0) this.finish(null, 'no guesses left');
    else this.ctx.setState(s);
  }

  finish(winner, reason) {
    const s = this.state;
    let closest = null;
    for (const g of s.guesses) {
      if (closest === null || Math.abs(g.guess - s.target) < Math.abs(closest.guess - s.target)) closest = g;
    }
    s.over = true;
    s.winner = winner;
    this.ctx.setState(s);
    this.ctx.post('game:over', {
      game: 'guess',
      round: s.round,
      winner,
      reason,
      closest: closest && { slot: closest.slot, guess: closest.guess },
      reveal: { target: s.target, salt: s.salt, commitment: s.commitment },
      text: `The number was ${s.target} (salt ${s.salt}); check sha256("${s.target}:${s.salt}") = ${s.commitment}. ${
        winner ? `Winner: ${winner}.` : 'Nobody hit it.'
      }`,
    });
  }
}
