// The bot hook contract between the channels server and the sandbox (issue 5). Types only.

export interface BotHookInput {
  source: string;
  params: unknown;
  hook: 'init' | 'join' | 'message';
  event: unknown;
  state: unknown;
  randomKey: string /* hex; ctx.random stream key */;
  randomCounter: number;
  now: number /* event time ms */;
  limits?: { memoryBytes?: number; instructions?: number; wallMs?: number };
}

export type BotErrorCode =
  'ERR_BOT_TIMEOUT' | 'ERR_BOT_MEMORY' | 'ERR_BOT_THROWN' | 'ERR_BOT_OUTPUT' | 'ERR_BOT_SOURCE';

export interface BotHookOutput {
  posts: Array<{ kind: string; body: unknown }>;
  state: unknown;
  stateChanged: boolean;
  randomCounter: number;
  /** message: the server's words; botText: text the bot chose (a thrown error's), to be shown quoted, never as ours. */
  error?: { code: BotErrorCode; message: string; botText?: string };
  /** ctx.log lines (bounded), for debugging; never part of the transcript. */
  logs?: string[];
}
