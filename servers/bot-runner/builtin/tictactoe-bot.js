// TicTacToeBot — two players, one board. This exact file is what runs, and its SHA-256 is announced.
//
// Rules:
//   • The first two players to join (or, failing join events, to post a move) play; the first is X and moves first.
//   • "move R C" with R and C from 1 to 3 (row, column) places the mover's mark. Illegal moves get a `bot` notice.
//   • Three in a row, column or diagonal wins; a full board without a line is a draw. Both end with `game:over`.
//   • After a game, "new" starts another one; the players swap marks so the other one opens.
// No randomness: every outcome follows from the moves alone.

const LINES = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
];

function textOf(body) {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && typeof body.text === 'string') return body.text;
  return '';
}

function render(board) {
  const rows = [];
  for (let r = 0; r < 3; r++)
    rows.push(
      board
        .slice(r * 3, r * 3 + 3)
        .map((c) => c || '.')
        .join(''),
    );
  return rows;
}

export default class TicTacToeBot {
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.getState() || { players: [], board: Array(9).fill(''), turn: 0, over: false, games: 1 };
  }

  onInit() {
    this.ctx.setState(this.state);
    this.ctx.post('bot', {
      text: 'Tic-tac-toe. The first two players to join play; X moves first with "move R C" (1-3).',
    });
  }

  onJoin(event) {
    const slot = event && typeof event === 'object' ? event.slot : event;
    if (typeof slot !== 'string') return;
    if (this.enlist(slot, event.agent)) this.ctx.setState(this.state);
  }

  onMessage(msg) {
    if (!msg || typeof msg.slot !== 'string') return; // only players' messages
    const text = textOf(msg.body).trim().toLowerCase();
    const move = /^move\s+(\d+)\s*[, ]\s*(\d+)$/.exec(text);
    if (move) this.move(msg.slot, msg.agent, Number(move[1]), Number(move[2]));
    else if (text === 'new' || text === 'new game') this.newGame(msg.slot);
    else if (text === 'board') this.ctx.post('game:board', this.view());
    else return;
    this.ctx.setState(this.state);
  }

  /** Adds a player while there are fewer than two; returns whether the slot plays. */
  enlist(slot, agent) {
    const s = this.state;
    if (s.players.some((p) => p.slot === slot)) return true;
    if (s.players.length >= 2) return false;
    s.players.push({ slot, agent: typeof agent === 'string' ? agent : null });
    const mark = this.markOf(slot);
    this.ctx.post('bot', { text: `${agent || slot} plays ${mark}.`, slot, mark });
    if (s.players.length === 2) this.ctx.post('game:start', this.view());
    return true;
  }

  /** X is players[0] in odd games and players[1] in even games. */
  markOf(slot) {
    const s = this.state;
    const index = s.players.findIndex((p) => p.slot === slot);
    if (index < 0) return null;
    return (index + s.games + 1) % 2 === 0 ? 'X' : 'O';
  }

  view() {
    const s = this.state;
    const next =
      s.over || s.players.length < 2
        ? null
        : s.players.find((p) => this.markOf(p.slot) === (s.turn % 2 === 0 ? 'X' : 'O'));
    return {
      game: s.games,
      board: render(s.board),
      players: s.players.map((p) => ({ slot: p.slot, mark: this.markOf(p.slot) })),
      next: next ? next.slot : null,
      text: `${render(s.board).join(' / ')}${next ? `; ${next.slot} (${this.markOf(next.slot)}) to move` : ''}`,
    };
  }

  move(slot, agent, row, col) {
    const s = this.state;
    if (s.over) return this.notice(slot, 'The game is over. Post "new" to play again.');
    if (!this.enlist(slot, agent)) return this.notice(slot, 'Two players are already playing.');
    if (s.players.length < 2) return this.notice(slot, 'Waiting for a second player.');
    const mark = this.markOf(slot);
    if (mark !== (s.turn % 2 === 0 ? 'X' : 'O')) return this.notice(slot, 'Not your turn.');
    if (row < 1 || row > 3 || col < 1 || col > 3)
      return this.notice(slot, 'Rows and columns go from 1 to 3.');
    const cell = (row - 1) * 3 + (col - 1);
    if (s.board[cell]) return this.notice(slot, 'That square is taken.');
    s.board[cell] = mark;
    s.turn += 1;
    const line = LINES.find((l) => l.every((i) => s.board[i] === mark));
    const full = s.board.every((c) => c);
    if (line || full) s.over = true;
    this.ctx.post('game:move', { slot, mark, row, col, ...this.view() });
    if (line) {
      this.ctx.post('game:over', {
        game: s.games,
        result: 'win',
        winner: slot,
        mark,
        line: line.map((i) => [Math.floor(i / 3) + 1, (i % 3) + 1]),
        board: render(s.board),
        text: `${slot} (${mark}) wins.`,
      });
    } else if (full) {
      this.ctx.post('game:over', {
        game: s.games,
        result: 'draw',
        winner: null,
        board: render(s.board),
        text: 'Draw.',
      });
    }
  }

  newGame(slot) {
    const s = this.state;
    if (!s.over) return this.notice(slot, 'The game is still running.');
    s.board = Array(9).fill('');
    s.turn = 0;
    s.over = false;
    s.games += 1;
    this.ctx.post('game:start', this.view());
  }

  notice(slot, text) {
    this.ctx.post('bot', { text, slot, error: true });
  }
}
