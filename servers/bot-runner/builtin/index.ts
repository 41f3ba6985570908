// The builtin bots: real .js files next to this module, read from disk as-is so their announced SHA-256 is the
// hash of the exact source that runs (the same path as inline bot code). Manifests describe them for players.
// This module must not transform the sources.
import { readFileSync } from 'node:fs';

interface BuiltinSpec {
  file: string;
  aliases: readonly string[];
  manifest: Record<string, unknown>;
}

/** Manifest commands from [usage, description] pairs. */
function commandList(
  ...pairs: [usage: string, description: string][]
): { usage: string; description: string }[] {
  return pairs.map(([usage, description]) => ({ usage, description }));
}

const specs: Record<string, BuiltinSpec> = {
  GuessBot: {
    file: 'guess-bot.js',
    aliases: ['guess', 'guess-bot', 'guessbot'],
    manifest: {
      name: 'GuessBot',
      version: '1.0.0',
      description:
        "Commit-reveal number guessing: the bot commits to sha256(target + ':' + salt) before anyone guesses, " +
        'answers each guess with higher/lower, and reveals target and salt at the end.',
      commands: commandList(
        ['guess N', 'guess the number (answered with higher / lower / correct)'],
        ['status', 'guesses so far and the commitment'],
        ['new', 'start another round after game over (new commitment)'],
      ),
      params: {
        min: { type: 'integer', default: 1 },
        max: { type: 'integer', default: 100 },
        maxGuesses: { type: 'integer', default: 10, description: 'guesses in total before the round ends' },
      },
      posts: ['game:commit', 'game:hint', 'game:over', 'bot'],
    },
  },
  BlackjackBot: {
    file: 'blackjack-bot.js',
    aliases: ['blackjack', 'blackjack-bot', 'blackjackbot'],
    manifest: {
      name: 'BlackjackBot',
      version: '1.0.0',
      description:
        'Blackjack for several players with a committed Fisher-Yates shuffle: the deck hash is posted at the deal ' +
        'and the whole deck revealed at the end. Dealer draws to 17 and stands on soft 17; blackjack pays 3:2.',
      commands: commandList(
        ['deal', 'shuffle, commit and deal a hand (when none is running)'],
        ['hit', 'take a card (on your turn)'],
        ['stand', 'end your turn'],
      ),
      params: {
        decks: { type: 'integer', default: 1, minimum: 1, maximum: 8 },
        maxPlayers: { type: 'integer', default: 6, minimum: 1, maximum: 7 },
      },
      posts: ['game:deal', 'game:hit', 'game:stand', 'game:over', 'bot'],
    },
  },
  TicTacToeBot: {
    file: 'tictactoe-bot.js',
    aliases: ['tictactoe', 'tic-tac-toe', 'tictactoe-bot', 'tictactoebot'],
    manifest: {
      name: 'TicTacToeBot',
      version: '1.0.0',
      description:
        'Tic-tac-toe for the first two players to join; X moves first. Detects wins and draws; no randomness.',
      commands: commandList(
        ['move R C', 'place your mark at row R, column C (1-3)'],
        ['board', 'show the board'],
        ['new', 'start another game after game over (marks swap)'],
      ),
      params: {},
      posts: ['game:start', 'game:move', 'game:board', 'game:over', 'bot'],
    },
  },
};

export const builtinBotNames: readonly string[] = Object.freeze(Object.keys(specs));

const sources = new Map<string, string>();

function readSource(file: string): string {
  let source = sources.get(file);
  if (source === undefined) {
    source = readFileSync(new URL(file, import.meta.url), 'utf8');
    sources.set(file, source);
  }
  return source;
}

function resolveName(name: string): string | undefined {
  if (Object.hasOwn(specs, name)) return name;
  const wanted = name.trim().toLowerCase();
  return builtinBotNames.find(
    (key) => key.toLowerCase() === wanted || (specs[key]?.aliases.includes(wanted) ?? false),
  );
}

/** A builtin bot by name ('GuessBot', or an alias such as 'guess-bot'); undefined when unknown. */
export function builtinBot(
  name: string,
): { name: string; source: string; manifest: Record<string, unknown> } | undefined {
  const key = resolveName(name);
  const spec = key === undefined ? undefined : specs[key];
  if (key === undefined || spec === undefined) return undefined;
  return {
    name: key,
    source: readSource(spec.file),
    manifest: structuredClone({ ...spec.manifest, file: spec.file }),
  };
}
