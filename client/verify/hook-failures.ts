// How the bot replay judges a recorded bot:error. A failure from outside the bot's code (ERR_BOT_UNAVAILABLE,
// ERR_BOT_WALL_CLOCK; servers/channels/bots.ts) cannot be reproduced, so it is taken as the server's statement if it
// is well formed: the only reply to its trigger, for this hook and this bot. Any other failure must come out of the
// re-run exactly as recorded (code, message and the bot's quoted text). Pure functions of the messages.
import { botErrorBody, type HookFailure } from '../../servers/channels/bots.ts';
import { canonicalJson, type ChannelMessage } from '../../servers/channels/transcript.ts';
import { isBotError } from './transcript-index.ts';

interface BotErrorBody {
  code?: unknown;
  message?: unknown;
  hook?: unknown;
  code_hash?: unknown;
}

const bodyOf = (m: ChannelMessage): BotErrorBody =>
  typeof m.body === 'object' && m.body !== null ? m.body : {};

/** The recorded bot:error among a trigger's replies whose code says the hook failed outside the bot's code. */
export function findServerStatement(
  replies: readonly ChannelMessage[],
  unreproducible: ReadonlySet<string>,
): ChannelMessage | undefined {
  return replies.find((m) => isBotError(m) && unreproducible.has(String(bodyOf(m).code)));
}

/** Why a server statement is not acceptable, or undefined when it is. */
export function statementProblem(
  statement: ChannelMessage,
  replies: readonly ChannelMessage[],
  hook: string,
  codeHash: string,
): string | undefined {
  const body = bodyOf(statement);
  if (replies.length !== 1)
    return `bot:error ${statement.seq} says the ${hook} hook did not run, but message ${statement.reply_to} has other bot replies`;
  if (body.hook !== hook || body.code_hash !== codeHash)
    return `bot:error ${statement.seq} names another hook or bot than the ${hook} hook of the attached bot`;
  return undefined;
}

/** The recorded bot:error says exactly what the re-run's failure says: the same body, bot_text included. */
export function sameFailure(
  recorded: ChannelMessage,
  failure: HookFailure,
  hook: string,
  codeHash: string,
): boolean {
  return canonicalJson(recorded.body) === canonicalJson(botErrorBody(codeHash, hook, failure));
}
