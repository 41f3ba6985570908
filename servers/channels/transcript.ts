// The channel transcript: message shape, the hash chain and signed heads. Pure functions over plain data;
// it must not touch storage or the clock. `client/verify` uses the same functions to check a transcript.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { McpcpError } from '../../lib/errors.ts';

/** Who wrote a message: an agent in a slot, the channel's bot, or the channel server itself. */
export type Sender =
  | { type: 'agent'; agent: string; slot: string }
  | { type: 'bot'; slot: string; code_hash: string }
  | { type: 'system' };

/** The part of a message the chain covers. Everything an auditor needs, nothing server-internal. */
export interface MessageContent {
  v: 1;
  channel_id: string;
  seq: number;
  ts: number;
  from: Sender;
  kind: string;
  body: unknown;
  /** For bot output and bot errors: the seq of the message whose hook produced it. */
  reply_to?: number;
}

export interface ChannelMessage extends MessageContent {
  prev_hash: string;
  hash: string;
}

/** What a writer supplies; the store assigns seq and the chain fields. */
export interface MessageDraft {
  ts: number;
  from: Sender;
  kind: string;
  body: unknown;
  reply_to?: number;
}

/** prev_hash of message 1. */
export const genesisHash = '0'.repeat(64);

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new McpcpError('ERR_INVALID_ARGUMENT', 'value has no JSON form');
  return text;
}

export function contentOf(message: MessageContent): MessageContent {
  const content: MessageContent = {
    v: 1,
    channel_id: message.channel_id,
    seq: message.seq,
    ts: message.ts,
    from: message.from,
    kind: message.kind,
    body: message.body,
  };
  if (message.reply_to !== undefined) content.reply_to = message.reply_to;
  return content;
}

/** hash = sha256( prev_hash (64 lowercase hex chars, as ASCII) ‖ RFC 8785 canonical JSON of the content ). */
export function chainHash(prevHash: string, content: MessageContent): string {
  return sha256Hex(prevHash + canonicalJson(contentOf(content)));
}

export function sealMessage(
  channelId: string,
  seq: number,
  prevHash: string,
  draft: MessageDraft,
): ChannelMessage {
  const content: MessageContent = {
    v: 1,
    channel_id: channelId,
    seq,
    ts: draft.ts,
    from: draft.from,
    kind: draft.kind,
    body: draft.body === undefined ? null : draft.body,
  };
  if (draft.reply_to !== undefined) content.reply_to = draft.reply_to;
  // Round-trip through canonical JSON so what is stored is exactly what was hashed (no undefined, no -0).
  const normalized = JSON.parse(canonicalJson(content)) as MessageContent;
  return { ...normalized, prev_hash: prevHash, hash: chainHash(prevHash, normalized) };
}

export interface ChainProblem {
  seq: number;
  reason: string;
}

/** Checks numbering, links and hashes; returns the first problem or undefined. */
export function checkChain(channelId: string, messages: readonly ChannelMessage[]): ChainProblem | undefined {
  let prev = genesisHash;
  let expected = 1;
  for (const message of messages) {
    const seq = typeof message.seq === 'number' ? message.seq : expected;
    if (message.channel_id !== channelId) return { seq, reason: 'message belongs to another channel' };
    if (message.seq !== expected)
      return { seq, reason: `expected seq ${expected}, found ${String(message.seq)}` };
    if (message.prev_hash !== prev) return { seq, reason: 'prev_hash does not match the previous message' };
    let hash: string;
    try {
      hash = chainHash(prev, message);
    } catch {
      return { seq, reason: 'content is not canonicalizable JSON' };
    }
    if (hash !== message.hash) return { seq, reason: 'hash does not match the content (altered message)' };
    prev = message.hash;
    expected += 1;
  }
  return undefined;
}

/** Payload of a signed head (JWS, RS256, fleet key). */
export interface HeadClaims {
  typ: 'mcpcp-channel-head';
  channel_id: string;
  seq: number;
  hash: string;
  ts: number;
  iss?: string;
}
