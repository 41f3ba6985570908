// How the channels server runs bot hooks: a small BotRunner interface with an in-process implementation over the
// sandbox's runBotHook. It must not know about channels, storage or transcripts.
import { readFileSync } from 'node:fs';
import { runBotHook, type BotHookInput, type BotHookOutput } from '../sandbox/bot-host.ts';

export type { BotHookInput, BotHookOutput };

export interface BotRunner {
  /** Identifies the engine, announced in bot:attach so a verifier knows what ran the bot. */
  readonly version: string;
  run(input: BotHookInput): Promise<BotHookOutput>;
}

export function runnerVersion(): string {
  let quickjs = 'unknown';
  try {
    const url = new URL('../../node_modules/quickjs-emscripten/package.json', import.meta.url);
    quickjs = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    // version stays 'unknown'
  }
  // /2: posts and state copied out by a host walk, refusals thrown at the call, thrown text quoted apart (issue 16):
  // a re-run by a /1 runner can differ for bots that relied on the old behaviour.
  return `mcpcp-bot-runner/2 quickjs-emscripten/${quickjs}`;
}

/** Runs hooks in this process, one fresh QuickJS context per hook (the sandbox's guarantee). */
export function createInProcessBotRunner(): BotRunner {
  return {
    version: runnerVersion(),
    run: (input) => runBotHook(input),
  };
}
