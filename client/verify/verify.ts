// Verifies a channel transcript end to end: the hash chain, the signed heads (against a JWKS the caller trusts, one
// covering the last message; heads.ts), every fairness commitment against its reveal, and a re-run of the bot over the
// transcript (runBotHook) that must reproduce each bot message (replay.ts). Pure over its inputs (transcript, JWKS,
// hook runner); fetching lives in fetch.ts, the CLI in launcher/commands/verify.ts. Any alteration, cut or appended
// message fails and names the first bad message.
import type { JSONWebKeySet } from 'jose';
import type { BotHookInput, BotHookOutput } from '../../servers/sandbox/bot-host.ts';
import { checkChain, type ChannelMessage } from '../../servers/channels/transcript.ts';
import { checkHeads } from './heads.ts';
import { replay } from './replay.ts';

export const transcriptFormat = 'mcpcp-transcript/1';

export interface TranscriptExport {
  format: typeof transcriptFormat;
  channel_id: string;
  messages: ChannelMessage[];
  /** Signed heads collected from sync_messages / get_receipt. */
  heads: Array<{ seq: number; hash: string; jws: string | null }>;
  /** Bot sources by code hash (from get_bot_source). */
  sources: Record<string, string>;
  /** Optional copy of the server's JWKS, written by `--save` for reference; never trusted (a forger controls it). */
  jwks?: JSONWebKeySet;
}

export interface VerifyProblem {
  seq: number | null;
  check: 'format' | 'chain' | 'heads' | 'fairness' | 'bot' | 'kind';
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  channel_id: string;
  messages: number;
  head: { seq: number; hash: string } | null;
  checked: { chain: boolean; heads: number; reveals: number; bot_messages: number; hooks_replayed: number };
  /** The earliest bad message (or transcript-level problem). */
  first_bad: VerifyProblem | null;
  problems: VerifyProblem[];
  notes: string[];
}

export type RunHook = (input: BotHookInput) => Promise<BotHookOutput>;

export async function verifyTranscript(
  transcript: TranscriptExport,
  /** `jwks`: the JWKS the caller trusts (from the fleet or the proxy); without it no head verifies and the check fails. */
  options: { jwks?: JSONWebKeySet; runHook?: RunHook } = {},
): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const notes: string[] = [];
  const messages = Array.isArray(transcript?.messages) ? transcript.messages : [];
  const report: VerifyReport = {
    ok: false,
    channel_id: String(transcript?.channel_id),
    messages: messages.length,
    head: messages.length > 0 ? { seq: messages.at(-1)!.seq, hash: messages.at(-1)!.hash } : null,
    checked: { chain: false, heads: 0, reveals: 0, bot_messages: 0, hooks_replayed: 0 },
    first_bad: null,
    problems,
    notes,
  };
  const finish = (): VerifyReport => {
    problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    report.first_bad = problems[0] ?? null;
    report.ok = problems.length === 0;
    return report;
  };
  if (transcript?.format !== transcriptFormat || typeof transcript.channel_id !== 'string') {
    problems.push({ seq: null, check: 'format', reason: `not a ${transcriptFormat} file` });
    return finish();
  }

  // 1. The chain: numbering, links, hashes.
  const chainProblem = checkChain(transcript.channel_id, messages);
  if (chainProblem !== undefined) {
    problems.push({ seq: chainProblem.seq, check: 'chain', reason: chainProblem.reason });
    return finish();
  }
  report.checked.chain = true;

  // 2. Signed heads, against the caller's JWKS only: each must verify, and one must cover the last message.
  if (transcript.jwks !== undefined && options.jwks === undefined)
    notes.push('the JWKS embedded in the transcript file is not trusted; pass a JWKS obtained independently');
  await checkHeads(transcript, messages, options.jwks, problems, report);

  // 3. Fairness and bot replay.
  await replay(transcript, messages, options.runHook, problems, notes, report);
  return finish();
}
