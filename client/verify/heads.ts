// Checks a transcript's signed heads against a JWKS the caller trusts (never the file's own copy: a forger controls
// it). Each head must verify and name a message of this chain, and one verified head must cover the last message:
// without it nothing vouches that the server wrote the messages, so an empty `heads`, messages appended after the
// last head, or a transcript cut short of a head all fail, naming the first message no head covers.
// Pure over its inputs; the chain itself is checked before (verify.ts).
import type { JSONWebKeySet } from 'jose';
import { verifySignedHead } from '../../servers/channels/receipts.ts';
import { genesisHash, type ChannelMessage } from '../../servers/channels/transcript.ts';
import type { TranscriptExport, VerifyProblem, VerifyReport } from './verify.ts';

export async function checkHeads(
  transcript: TranscriptExport,
  messages: readonly ChannelMessage[],
  jwks: JSONWebKeySet | undefined,
  problems: VerifyProblem[],
  report: VerifyReport,
): Promise<void> {
  const lastSeq = messages.at(-1)?.seq ?? 0;
  const heads = (Array.isArray(transcript.heads) ? transcript.heads : []).filter(
    (head): head is { seq: number; hash: string; jws: string } => typeof head?.jws === 'string',
  );
  /** The highest seq a verified head vouches for. */
  let covered = 0;
  let coversLast = false;
  /** An authentic head of this channel names the last message or a later one (if it does not match, that is its own problem). */
  let claimed = false;
  if (jwks !== undefined) {
    for (const head of heads) {
      let claims;
      try {
        claims = await verifySignedHead(head.jws, jwks);
      } catch {
        problems.push({
          seq: typeof head.seq === 'number' ? Math.min(head.seq, lastSeq + 1) : null,
          check: 'heads',
          reason: 'signed head does not verify against the JWKS',
        });
        continue;
      }
      if (claims.channel_id !== transcript.channel_id) {
        problems.push({
          seq: Math.min(claims.seq, lastSeq + 1),
          check: 'heads',
          reason: 'signed head is for another channel',
        });
        continue;
      }
      if (claims.seq >= lastSeq) claimed = true;
      if (claims.seq > lastSeq) {
        problems.push({
          seq: lastSeq + 1,
          check: 'heads',
          reason: `a signed head covers message ${claims.seq} but the transcript ends at ${lastSeq} (truncated)`,
        });
      } else if ((claims.seq === 0 ? genesisHash : messages[claims.seq - 1]?.hash) !== claims.hash) {
        problems.push({
          seq: claims.seq,
          check: 'heads',
          reason: `signed head does not match message ${claims.seq}`,
        });
      } else {
        report.checked.heads += 1;
        covered = Math.max(covered, claims.seq);
        if (claims.seq === lastSeq) coversLast = true;
      }
    }
  }
  if (coversLast || claimed) return;
  const why =
    jwks === undefined
      ? 'no trusted JWKS was given to check the signed heads'
      : heads.length === 0
        ? 'the transcript carries no signed head'
        : `the last verified signed head is at ${covered}`;
  problems.push({
    seq: lastSeq === 0 ? null : covered + 1,
    check: 'heads',
    reason: `no signed head covers message ${covered + 1}${lastSeq > covered + 1 ? `–${lastSeq}` : ''} (${why})`,
  });
}
