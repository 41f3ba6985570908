// One guarded statement that appends sealed messages to a channel: it moves `channels.head_seq/head_hash` only from
// the head the messages were sealed after and inserts them, with optional extra CTEs (the bot's compare-and-swap, the
// client_msg_id row) in the same statement; a failed guard raises inside it, so none of it lands. It must not
// choose the head; its caller (under the channel's lock, or in a locked transaction) does.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { sealMessage, type ChannelMessage, type MessageDraft } from '../transcript.ts';
import type { Head } from './postgres-locks.ts';

export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string | pg.QueryConfig,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;

/** A prepared statement's name, fixed by its text (the driver prepares it once per connection). */
function statementName(text: string): string {
  return `mcpcp_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/**
 * Seals drafts after `head` and writes them with one statement that moves the head only from `head` (the guard
 * fails, rolling everything back, if another writer got there first). Optional extra CTEs join the statement.
 */
export async function appendAfter(
  q: Query,
  s: string,
  channelId: string,
  head: Head,
  drafts: readonly MessageDraft[],
  extra: { ctes: string[]; guards: string[]; values: unknown[] } = { ctes: [], guards: [], values: [] },
): Promise<ChannelMessage[]> {
  const messages: ChannelMessage[] = [];
  let { seq, hash } = head;
  for (const draft of drafts) {
    seq += 1;
    const message = sealMessage(channelId, seq, hash, draft);
    hash = message.hash;
    messages.push(message);
  }
  const values: unknown[] = [
    channelId,
    seq,
    hash,
    head.seq,
    messages.map((m) => m.seq),
    messages.map((m) => m.hash),
    messages.map((m) => JSON.stringify(m)),
    ...extra.values,
  ];
  const text = `WITH h AS (UPDATE ${s}.channels SET head_seq = $2::int, head_hash = $3::text
      WHERE id = $1::text AND head_seq = $4::int RETURNING 1),
    m AS (INSERT INTO ${s}.messages (channel_id, seq, hash, data)
      SELECT $1::text, t.seq, t.hash, t.data FROM unnest($5::int[], $6::text[], $7::text[]) AS t(seq, hash, data)
      WHERE EXISTS (SELECT 1 FROM h) RETURNING 1)${extra.ctes.map((cte) => `,\n      ${cte}`).join('')}
    SELECT ${[`${s}.guard(EXISTS (SELECT 1 FROM h), 'head')`, ...extra.guards].join(' AND ')} AS ok`;
  await q({ name: statementName(text), text, values });
  return messages;
}
