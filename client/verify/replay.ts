// Re-runs the attached bot over a transcript: rebuilds each fairness epoch's random key from the revealed seed and the
// locked player seeds, replays every hook in transcript order with the recorded state, and requires each bot message
// (and each bot:error) to come out exactly as recorded; a bot:error for a failure outside the bot's code is the
// server's statement (hook-failures.ts). Reports problems into the caller's report; pure over its inputs and the hook
// runner.
import type { BotHookInput, BotHookOutput } from '../../servers/sandbox/bot-host.ts';
import {
  commitmentOf,
  lockedRandomKey,
  openRandomKey,
  type FairnessScheme,
  type PlayerSeed,
} from '../../servers/channels/fairness.ts';
import { recordedHookFailure, unreproducibleHookCodes } from '../../servers/channels/bots.ts';
import { isReservedKind } from '../../servers/channels/message-rules.ts';
import { checkBotPosts, eventOf, initEventOf } from '../../servers/channels/rules.ts';
import { canonicalJson, sha256Hex, type ChannelMessage } from '../../servers/channels/transcript.ts';
import { findServerStatement, sameFailure, statementProblem } from './hook-failures.ts';
import { epochKey, isBotError, repliesByTrigger, revealedSeeds } from './transcript-index.ts';
import type { RunHook, TranscriptExport, VerifyProblem, VerifyReport } from './verify.ts';

interface BotInstance {
  attachSeq: number;
  codeHash: string;
  /** How this bot's random keys are derived (bot:attach `fairness.scheme`; none announced = 1). */
  scheme: FairnessScheme;
  source: string | undefined;
  params: unknown;
  limits: BotHookInput['limits'];
  state: unknown;
  epoch: number;
  commitment: string;
  randomKey: string | undefined;
  counter: number;
  locked: boolean;
  removing: boolean;
  awaitingReveal: boolean;
}

export async function replay(
  transcript: TranscriptExport,
  messages: readonly ChannelMessage[],
  runHook: RunHook | undefined,
  problems: VerifyProblem[],
  notes: string[],
  report: VerifyReport,
): Promise<void> {
  const revealed = revealedSeeds(messages);
  const replies = repliesByTrigger(messages);
  const matched = new Set<number>();
  const unverifiable = new Set<number>();
  /** bot:errors taken as the server's statement (the hook failed outside the bot's code), not re-run. */
  const statements: number[] = [];
  const slotSeeds = new Map<string, string | null>();
  let bot: BotInstance | undefined;
  let closed = false;
  let pendingEpochs = 0;

  const seedOf = (b: BotInstance): string | undefined => revealed.get(epochKey(b.attachSeq, b.epoch));

  async function hook(
    kind: 'init' | 'join' | 'message',
    event: unknown,
    trigger: ChannelMessage,
  ): Promise<void> {
    if (bot === undefined || bot.removing || closed) return;
    const actual = (replies.get(trigger.seq) ?? []).filter((m) => m.from.type === 'bot' || isBotError(m));
    const statement = findServerStatement(actual, unreproducibleHookCodes);
    if (statement !== undefined) {
      // Not re-run: the server says the hook failed outside the bot's code. State and counter stay, as on the server.
      const reason = statementProblem(statement, actual, kind, bot.codeHash);
      if (reason !== undefined) problems.push({ seq: statement.seq, check: 'bot', reason });
      else {
        matched.add(statement.seq);
        statements.push(statement.seq);
      }
      return;
    }
    if (bot.randomKey === undefined || bot.source === undefined || runHook === undefined) {
      for (const m of actual) unverifiable.add(m.seq);
      return;
    }
    const input: BotHookInput = {
      source: bot.source,
      params: bot.params,
      hook: kind,
      event,
      state: bot.state,
      randomKey: bot.randomKey,
      randomCounter: bot.counter,
      now: trigger.ts,
      ...(bot.limits ? { limits: bot.limits } : {}),
    };
    let out: BotHookOutput;
    let runnerFailed = false;
    try {
      out = await runHook(input);
    } catch {
      runnerFailed = true;
      out = { posts: [], state: bot.state, stateChanged: false, randomCounter: bot.counter };
    }
    // The server's classification, so a deterministic failure compares code for code.
    const failure = recordedHookFailure(out.error, runnerFailed);
    if (failure !== undefined && unreproducibleHookCodes.has(failure.code)) {
      problems.push({
        seq: actual[0]?.seq ?? trigger.seq,
        check: 'bot',
        reason: `the re-run of the ${kind} hook for message ${trigger.seq} could not complete here (${failure.code}); verify again`,
      });
      return;
    }
    report.checked.hooks_replayed += 1;
    const problem = failure ?? checkBotPosts(out.posts);
    if (problem !== undefined) {
      const error = actual.find(isBotError);
      if (error === undefined || actual.length !== 1) {
        problems.push({
          seq: actual[0]?.seq ?? trigger.seq,
          check: 'bot',
          reason: `re-run of the ${kind} hook for message ${trigger.seq} fails (${problem.code}) but the transcript shows bot output`,
        });
      } else if (!sameFailure(error, problem, kind, bot.codeHash)) {
        problems.push({
          seq: error.seq,
          check: 'bot',
          reason: `bot:error ${error.seq} differs from the re-run's failure (${problem.code})`,
        });
      } else matched.add(error.seq);
      return;
    }
    for (let i = 0; i < Math.max(out.posts.length, actual.length); i += 1) {
      const expected = out.posts[i];
      const got = actual[i];
      if (got === undefined) {
        problems.push({
          seq: trigger.seq,
          check: 'bot',
          reason: `bot message missing: re-run of the ${kind} hook for message ${trigger.seq} posts ${expected!.kind}`,
        });
        return;
      }
      if (expected === undefined) {
        problems.push({
          seq: got.seq,
          check: 'bot',
          reason: `message ${got.seq} is not produced by the bot's code`,
        });
        return;
      }
      const sameSender = got.from.type === 'bot' && got.from.code_hash === bot.codeHash;
      if (
        !sameSender ||
        got.kind !== expected.kind ||
        canonicalJson(got.body) !== canonicalJson(expected.body ?? null)
      ) {
        problems.push({
          seq: got.seq,
          check: 'bot',
          reason: `message ${got.seq} differs from what the bot's code posts on re-run`,
        });
        return;
      }
      matched.add(got.seq);
      report.checked.bot_messages += 1;
    }
    if (out.stateChanged) bot.state = out.state;
    bot.counter = out.randomCounter;
  }

  for (const m of messages) {
    const body = (m.body ?? {}) as Record<string, unknown>;
    if (m.from.type === 'agent') {
      if (isReservedKind(m.kind)) {
        // The server refuses these (ERR_KIND_RESERVED): an agent message in a server kind is an impersonation.
        problems.push({
          seq: m.seq,
          check: 'kind',
          reason: `message ${m.seq} from an agent uses the server's kind ${JSON.stringify(m.kind)}`,
        });
      }
      if (bot !== undefined && !bot.locked && !bot.removing && !closed) {
        const lock = messages.find(
          (x) =>
            x.from.type === 'system' &&
            x.kind === 'fairness:lock' &&
            (x.body as { trigger?: number }).trigger === m.seq,
        );
        if (lock === undefined) {
          problems.push({
            seq: m.seq,
            check: 'fairness',
            reason: 'first player move without a fairness:lock of the player seeds',
          });
          return;
        }
        const seeds = (lock.body as { seeds: PlayerSeed[] }).seeds;
        const expectedSeeds = [...slotSeeds.entries()]
          .filter((entry): entry is [string, string] => entry[1] !== null)
          .map(([slot, seed]) => ({ slot, seed }))
          .sort((a, b) => Number(a.slot.slice(1)) - Number(b.slot.slice(1)));
        if (canonicalJson(seeds) !== canonicalJson(expectedSeeds)) {
          problems.push({
            seq: lock.seq,
            check: 'fairness',
            reason: 'locked player seeds differ from the seeds players contributed',
          });
        }
        const seed = seedOf(bot);
        bot.locked = true;
        bot.randomKey = seed === undefined ? undefined : lockedRandomKey(seed, seeds, bot.scheme);
        bot.counter = 0;
      }
      await hook('message', eventOf(m), m);
      continue;
    }
    if (m.from.type === 'bot') {
      if (bot === undefined || m.from.code_hash !== bot.codeHash) {
        problems.push({
          seq: m.seq,
          check: 'bot',
          reason: `message ${m.seq} claims to come from a bot that is not attached`,
        });
      }
      if (m.kind === 'game:over' && bot !== undefined) bot.awaitingReveal = true;
      continue;
    }
    switch (m.kind) {
      case 'bot:attach': {
        const fairness = body.fairness as
          { epoch?: number; commitment?: string; scheme?: unknown } | undefined;
        if (fairness?.scheme !== undefined && fairness.scheme !== 2) {
          problems.push({
            seq: m.seq,
            check: 'fairness',
            reason: `unknown fairness scheme ${JSON.stringify(fairness.scheme)} (this verifier knows 1 and 2)`,
          });
          return;
        }
        const codeHash = String(body.code_hash);
        const source = transcript.sources?.[codeHash];
        if (source !== undefined && sha256Hex(source) !== codeHash) {
          problems.push({
            seq: m.seq,
            check: 'bot',
            reason: 'bot source does not hash to the announced code_hash',
          });
          return;
        }
        if (source === undefined)
          notes.push(`source of bot ${codeHash} not available; its messages are not re-run`);
        if (fairness?.scheme === undefined)
          notes.push(
            `bot:attach #${m.seq} announces no fairness scheme: its keys are rebuilt the old way (scheme 1), in ` +
              'which the draws after a lock without player seeds repeat the draws before it',
          );
        bot = {
          attachSeq: m.seq,
          codeHash,
          scheme: fairness?.scheme === 2 ? 2 : 1,
          source,
          params: body.params ?? null,
          limits: body.limits as BotHookInput['limits'],
          state: null,
          epoch: fairness?.epoch ?? 1,
          commitment: String(fairness?.commitment),
          randomKey: undefined,
          counter: 0,
          locked: false,
          removing: false,
          awaitingReveal: false,
        };
        const seed = seedOf(bot);
        if (seed === undefined) pendingEpochs += 1;
        bot.randomKey = seed === undefined ? undefined : openRandomKey(seed, bot.scheme);
        await hook('init', initEventOf(m), m);
        break;
      }
      case 'member:join':
        slotSeeds.set(String(body.slot), typeof body.seed === 'string' ? body.seed : null);
        await hook('join', { slot: body.slot, agent: body.agent }, m);
        break;
      case 'member:kick':
        slotSeeds.delete(String(body.slot));
        break;
      case 'channel:close':
        closed = true;
        break;
      case 'bot:remove':
        if (bot !== undefined) bot.removing = true;
        break;
      case 'fairness:reveal': {
        if (bot === undefined) {
          problems.push({ seq: m.seq, check: 'fairness', reason: 'reveal without an attached bot' });
          break;
        }
        const seed = String(body.seed);
        if (
          body.epoch !== bot.epoch ||
          !/^[0-9a-f]{64}$/.test(seed) ||
          commitmentOf(seed) !== bot.commitment ||
          body.valid !== true
        ) {
          problems.push({
            seq: m.seq,
            check: 'fairness',
            reason: `revealed seed does not match the commitment of epoch ${bot.epoch}`,
          });
          break;
        }
        report.checked.reveals += 1;
        bot.awaitingReveal = false;
        if (bot.removing) bot = undefined;
        break;
      }
      case 'fairness:commit':
        if (bot !== undefined) {
          bot.epoch = Number(body.epoch);
          bot.commitment = String(body.commitment);
          bot.locked = false;
          bot.counter = 0;
          const seed = seedOf(bot);
          if (seed === undefined) pendingEpochs += 1;
          bot.randomKey = seed === undefined ? undefined : openRandomKey(seed, bot.scheme);
        }
        break;
      default:
        break;
    }
  }
  if (bot?.awaitingReveal === true) {
    problems.push({
      seq: null,
      check: 'fairness',
      reason: 'the bot signalled game:over but the seed was never revealed',
    });
  }
  for (const m of messages) {
    if ((m.from.type === 'bot' || isBotError(m)) && !matched.has(m.seq) && !unverifiable.has(m.seq)) {
      if (runHook !== undefined && !problems.some((p) => p.seq !== null && p.seq <= m.seq)) {
        problems.push({
          seq: m.seq,
          check: 'bot',
          reason: `message ${m.seq} was not produced by any hook of the attached bot`,
        });
      }
    }
  }
  if (unverifiable.size > 0) {
    notes.push(
      `${unverifiable.size} bot message(s) not re-run: ${pendingEpochs > 0 ? 'their seed is not revealed yet (game in progress)' : 'bot source unavailable'}`,
    );
  }
  if (statements.length > 0) {
    notes.push(
      `${statements.length} hook(s) not re-run: the server recorded them as failed outside the bot's code ` +
        `(${[...unreproducibleHookCodes].join(', ')}) at message(s) ${statements.map((seq) => `#${seq}`).join(', ')}`,
    );
  }
  if (runHook === undefined) notes.push('bot re-run skipped (no hook runner)');
}
