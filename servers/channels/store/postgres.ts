// PostgreSQL implementation of ChannelStore, for several channels replicas sharing one truth. Every method is one
// transaction (most are one statement). A channel's write step (`exclusive`) holds a session advisory lock on a
// dedicated pooled connection, so steps on one channel run one at a time across every replica, exactly as the
// in-process queue orders them in one; the step's reads of the channel, its bot and its head come from a snapshot
// taken under that lock (no round trip), and each write is one statement whose head compare-and-swap (`guard`) makes
// the chain exact even without the lock. A step's last write gives the lock back in its own round trip, after its
// COMMIT, so a lone post costs two. The lock dies with the connection, so a replica killed mid-step frees it.
// Appends are announced by a trigger (NOTIFY) that postgres-listen.ts turns into wake-ups. No rules live here.
// Past 500 lines because it is one method per store operation; the shared machinery is in postgres-*.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { McpcpError } from '../../../lib/errors.ts';
import { createSilentLogger, type Logger } from '../../../lib/log.ts';
import { genesisHash, type ChannelMessage, type MessageDraft } from '../transcript.ts';
import { appendAfter, type Query } from './postgres-append.ts';
import { storeError, uniqueViolation } from './postgres-errors.ts';
import { createAppendFeed, type AppendFeed } from './postgres-listen.ts';
import { inlineStatement } from './postgres-inline.ts';
import { ChannelLocks, lockKey, releaseSql, type Head, type Step } from './postgres-locks.ts';
import { channelMigrations } from './postgres-schema.ts';
import { parsePostgresUrl } from '../../../lib/postgres/address.ts';
import { openStorePool } from '../../../lib/postgres/pool.ts';
import type {
  AppendWatcher,
  BotRecord,
  ChannelCommit,
  ChannelCommitResult,
  ChannelRecord,
  ChannelStore,
  InviteRecord,
} from './types.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:port/db[?schema=NAME]` (schema default `mcpcp`). */
  url: string;
  logger?: Logger;
  /** Connections in the pool (default 20): each running write step holds one, including its bot hook. */
  poolSize?: number;
}

/** Opens the store: connects, runs the migrations, starts listening for appends by other replicas. */
export async function createPostgresChannelStore(
  options: PostgresStoreOptions,
): Promise<PostgresChannelStore> {
  const address = parsePostgresUrl(options.url);
  const logger = options.logger ?? createSilentLogger();
  const { pool, connection } = await openStorePool({
    address,
    application: 'mcpcp-channels',
    poolSize: options.poolSize ?? 20,
    migrations: channelMigrations,
    logger,
    what: 'channel store',
  });
  const feed = createAppendFeed({ connection, schema: address.schema, logger });
  await feed.ready;
  return new PostgresChannelStore(pool, address.schema, feed);
}

const parseJson = <T>(text: string): T => JSON.parse(text) as T;

export class PostgresChannelStore implements ChannelStore {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #s: string;
  readonly #feed: AppendFeed;
  readonly #step = new AsyncLocalStorage<Step>();
  readonly #locks: ChannelLocks;
  // Sources are immutable by hash: read once, then served from memory on every hook.
  readonly #sources = new Map<string, string>();
  #roundTrips = 0;
  #closed = false;

  constructor(pool: pg.Pool, schema: string, feed: AppendFeed) {
    this.#pool = pool;
    this.#schema = schema;
    this.#s = `"${schema}"`;
    this.#feed = feed;
    this.#locks = new ChannelLocks(pool, schema, () => (this.#roundTrips += 1));
  }

  /** Statements sent so far (each is one round trip): what bench/channels-pg.ts reports per post. */
  get roundTrips(): number {
    return this.#roundTrips;
  }

  /** Runs one statement on the current step's connection, or on any pooled one. */
  #query: Query = async (text, values) => {
    if (this.#closed) throw new McpcpError('ERR_INTERNAL', 'channel store is closed');
    this.#roundTrips += 1;
    const step = this.#step.getStore();
    try {
      return await (step?.client ?? this.#pool).query(text as pg.QueryConfig, values);
    } catch (error) {
      throw storeError(error);
    }
  };

  /** One transaction on the step's connection (or a pooled one); rolled back when fn throws. */
  async #tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    if (this.#closed) throw new McpcpError('ERR_INTERNAL', 'channel store is closed');
    const step = this.#step.getStore();
    let client: pg.PoolClient;
    try {
      client = step?.client ?? (await this.#pool.connect());
    } catch (error) {
      throw storeError(error);
    }
    const q: Query = async (text, values) => {
      this.#roundTrips += 1;
      try {
        return await client.query(text as pg.QueryConfig, values);
      } catch (error) {
        throw storeError(error);
      }
    };
    let broken = false;
    try {
      await q('BEGIN');
      const result = await fn(q);
      await q('COMMIT');
      return result;
    } catch (error) {
      await q('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      if (step === undefined) client.release(broken);
    }
  }

  #stepFor(channelId: string): Step | undefined {
    const step = this.#step.getStore();
    return step?.channelId === channelId ? step : undefined;
  }

  async exclusive<T>(
    channelId: string,
    fn: () => Promise<T>,
    queued: () => boolean = () => false,
  ): Promise<T> {
    if (this.#stepFor(channelId) !== undefined) return fn();
    if (this.#closed) throw new McpcpError('ERR_INTERNAL', 'channel store is closed');
    const step = await this.#locks.take(channelId, queued);
    let failed = false;
    try {
      return await this.#step.run(step, fn);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      this.#locks.release(step, failed, this.#closed);
    }
  }

  /**
   * Runs a guarded write after the channel's current head. Inside a step the head is the step's own (the lock makes it
   * current); outside a step the write takes the same lock for one transaction, so steps and lone writes never
   * interleave and the guard cannot fail. A guard failure in a step (a writer that bypassed the lock) re-reads. A
   * step's last write carries the unlock in its round trip; a write after that (a step that wrote again) locks for
   * its transaction and lands only where the step left the head.
   */
  async #withHead<T>(channelId: string, write: (q: Query, head: Head) => Promise<T>): Promise<T> {
    const step = this.#stepFor(channelId);
    if (step === undefined || step.released) {
      return this.#tx(async (q) => {
        await q(`SELECT pg_advisory_xact_lock(${lockKey(this.#schema, channelId)})`);
        const { rows } = await q<{ head_seq: number; head_hash: string }>(
          `SELECT head_seq, head_hash FROM ${this.#s}.channels WHERE id = $1`,
          [channelId],
        );
        const row = rows[0];
        if (row === undefined) throw new McpcpError('ERR_CHANNEL_NOT_FOUND', `no channel ${channelId}`);
        if (step !== undefined && row.head_seq !== step.head.seq) {
          throw new McpcpError(
            'ERR_CONFLICT',
            `channel ${channelId} moved on after this step let its lock go`,
          );
        }
        return write(q, { seq: row.head_seq, hash: row.head_hash });
      });
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        const q = this.#locks.releasesWithWrite(step) ? this.#releasing(step) : this.#query;
        return await write(q, step.head);
      } catch (error) {
        const moved = error instanceof McpcpError && error.details?.guard === 'head';
        if (!moved || attempt >= 3) throw error;
        step.head = await this.#readHead(channelId);
      }
    }
  }

  /**
   * Runs one write statement on the step's connection and gives the channel's lock back after its COMMIT, in one
   * round trip (`BEGIN; write; COMMIT; unlock`, the simple protocol, so its values are written in as literals). If
   * the write fails, nothing after it ran: the transaction is rolled back and the step still holds the lock.
   */
  #releasing(step: Step): Query {
    return async (text, values) => {
      if (this.#closed) throw new McpcpError('ERR_INTERNAL', 'channel store is closed');
      const config: pg.QueryConfig = typeof text === 'string' ? { text } : text;
      const write = inlineStatement(config.text, values ?? config.values ?? []);
      this.#roundTrips += 1;
      try {
        const results = (await step.client.query(
          `BEGIN; ${write}; COMMIT; ${releaseSql(step)}`,
        )) as unknown as pg.QueryResult[];
        step.released = true;
        return results[1] as pg.QueryResult<never>;
      } catch (error) {
        this.#roundTrips += 1;
        await step.client.query('ROLLBACK').catch(() => undefined);
        throw storeError(error);
      }
    };
  }

  async #readHead(channelId: string): Promise<Head> {
    const { rows } = await this.#query<{ head_seq: number; head_hash: string }>(
      `SELECT head_seq, head_hash FROM ${this.#s}.channels WHERE id = $1`,
      [channelId],
    );
    return rows[0] === undefined
      ? { seq: 0, hash: genesisHash }
      : { seq: rows[0].head_seq, hash: rows[0].head_hash };
  }

  #advance(channelId: string, messages: readonly ChannelMessage[]): void {
    const step = this.#stepFor(channelId);
    const last = messages.at(-1);
    if (step !== undefined && last !== undefined) step.head = { seq: last.seq, hash: last.hash };
  }

  async #writeChannel(q: Query, channel: ChannelRecord, insert: boolean): Promise<boolean> {
    const s = this.#s;
    const result = insert
      ? await q(
          `INSERT INTO ${s}.channels (id, version, data, created_at, head_seq, head_hash)
           VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (id) DO NOTHING`,
          [channel.id, channel.version, JSON.stringify(channel), channel.createdAt, genesisHash],
        )
      : await q(`UPDATE ${s}.channels SET version = $2, data = $3 WHERE id = $1`, [
          channel.id,
          channel.version,
          JSON.stringify(channel),
        ]);
    if (result.rowCount !== 1) return false;
    const members = [
      channel.admin,
      ...channel.slots.flatMap((slot) => (slot.agent === null ? [] : [slot.agent])),
    ];
    if (!insert) await q(`DELETE FROM ${s}.channel_members WHERE channel_id = $1`, [channel.id]);
    await q(
      `INSERT INTO ${s}.channel_members (channel_id, agent) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
      [channel.id, members],
    );
    return true;
  }

  async #addInvites(q: Query, invites: readonly InviteRecord[]): Promise<void> {
    if (invites.length === 0) return;
    await q(
      `INSERT INTO ${this.#s}.invites (code_hash, channel_id, slot_id, kind, created_at, used_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])`,
      [
        invites.map((i) => i.codeHash),
        invites.map((i) => i.channelId),
        invites.map((i) => i.slotId),
        invites.map((i) => i.kind),
        invites.map((i) => i.createdAt),
        invites.map((i) => i.usedAt),
      ],
    );
  }

  async createChannel(
    channel: ChannelRecord,
    invites: InviteRecord[],
    messages: MessageDraft[],
  ): Promise<ChannelMessage[]> {
    return this.#tx(async (q) => {
      if (!(await this.#writeChannel(q, channel, true))) {
        throw new McpcpError('ERR_CONFLICT', `channel ${channel.id} exists`);
      }
      await this.#addInvites(q, invites);
      return messages.length === 0
        ? []
        : appendAfter(q, this.#s, channel.id, { seq: 0, hash: genesisHash }, messages);
    });
  }

  async getChannel(id: string): Promise<ChannelRecord | undefined> {
    const step = this.#stepFor(id);
    if (step !== undefined) return step.channel === undefined ? undefined : structuredClone(step.channel);
    const { rows } = await this.#query<{ data: string }>({
      name: 'getChannel',
      text: `SELECT data FROM ${this.#s}.channels WHERE id = $1`,
      values: [id],
    });
    return rows[0] === undefined ? undefined : parseJson<ChannelRecord>(rows[0].data);
  }

  async listChannels(agent: string): Promise<ChannelRecord[]> {
    const { rows } = await this.#query<{ data: string }>(
      `SELECT c.data FROM ${this.#s}.channels c JOIN ${this.#s}.channel_members m ON m.channel_id = c.id
       WHERE m.agent = $1 ORDER BY c.created_at, c.id`,
      [agent],
    );
    return rows.map((row) => parseJson<ChannelRecord>(row.data));
  }

  async commit(channelId: string, change: ChannelCommit): Promise<ChannelCommitResult> {
    const s = this.#s;
    const held = this.#stepFor(channelId);
    const result = await this.#tx(async (q) => {
      // Every writer of a channel holds its lock (a step already does), so a step's snapshot stays true.
      if (held === undefined || held.released) {
        await q(`SELECT pg_advisory_xact_lock(${lockKey(this.#schema, channelId)})`);
      }
      const { rows } = await q<{ data: string; head_seq: number; head_hash: string }>(
        `SELECT data, head_seq, head_hash FROM ${s}.channels WHERE id = $1 FOR UPDATE`,
        [channelId],
      );
      const row = rows[0];
      if (row === undefined) throw new McpcpError('ERR_CHANNEL_NOT_FOUND', `no channel ${channelId}`);
      if (held?.released === true && row.head_seq !== held.head.seq) {
        throw new McpcpError('ERR_CONFLICT', `channel ${channelId} moved on after this step let its lock go`);
      }
      let channel = parseJson<ChannelRecord>(row.data);
      if (change.channel !== undefined) {
        if (change.channel.version !== channel.version) {
          throw new McpcpError('ERR_CONFLICT', `channel ${channelId} changed concurrently`);
        }
        channel = { ...change.channel, version: channel.version + 1 };
        await this.#writeChannel(q, channel, false);
      }
      const now = Date.now();
      for (const codeHash of change.consumeInvites ?? []) {
        const used = await q(
          `UPDATE ${s}.invites SET used_at = $1 WHERE code_hash = $2 AND channel_id = $3 AND used_at IS NULL`,
          [now, codeHash, channelId],
        );
        if (used.rowCount !== 1) {
          throw new McpcpError('ERR_INVITE_INVALID', 'invite code is unknown or already used');
        }
      }
      for (const { slotId, kind } of change.revokeInvites ?? []) {
        await q(
          `UPDATE ${s}.invites SET used_at = $1
           WHERE channel_id = $2 AND slot_id = $3 AND kind = $4 AND used_at IS NULL`,
          [now, channelId, slotId, kind],
        );
      }
      await this.#addInvites(q, change.addInvites ?? []);
      const { rows: botRows } = await q<{ data: string }>(
        `SELECT data FROM ${s}.bots WHERE channel_id = $1 FOR UPDATE`,
        [channelId],
      );
      let bot: BotRecord | null = botRows[0] === undefined ? null : parseJson<BotRecord>(botRows[0].data);
      if (change.bot === null) {
        await q(`DELETE FROM ${s}.bots WHERE channel_id = $1`, [channelId]);
        bot = null;
      } else if (change.bot !== undefined) {
        if (bot !== null && bot.version !== change.bot.version) {
          throw new McpcpError('ERR_CONFLICT', `bot state changed concurrently (version ${bot.version})`);
        }
        bot = { ...change.bot, version: bot === null ? 1 : change.bot.version + 1 };
        await q(
          `INSERT INTO ${s}.bots (channel_id, version, data) VALUES ($1, $2, $3)
           ON CONFLICT (channel_id) DO UPDATE SET version = excluded.version, data = excluded.data`,
          [channelId, bot.version, JSON.stringify(bot)],
        );
      }
      const drafts = change.messages ?? [];
      const messages =
        drafts.length === 0
          ? []
          : await appendAfter(q, this.#s, channelId, { seq: row.head_seq, hash: row.head_hash }, drafts);
      return { channel, bot, messages };
    });
    const step = this.#stepFor(channelId);
    if (step !== undefined) {
      step.channel = result.channel;
      step.bot = result.bot ?? undefined;
    }
    this.#advance(channelId, result.messages);
    return result;
  }

  async findInvite(codeHash: string): Promise<InviteRecord | undefined> {
    const { rows } = await this.#query<{
      code_hash: string;
      channel_id: string;
      slot_id: string;
      kind: string;
      created_at: string;
      used_at: string | null;
    }>(
      `SELECT code_hash, channel_id, slot_id, kind, created_at, used_at FROM ${this.#s}.invites WHERE code_hash = $1`,
      [codeHash],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      codeHash: row.code_hash,
      channelId: row.channel_id,
      slotId: row.slot_id,
      kind: row.kind === 'rejoin' ? 'rejoin' : 'invite',
      createdAt: Number(row.created_at),
      usedAt: row.used_at === null ? null : Number(row.used_at),
    };
  }

  async append(
    channelId: string,
    drafts: MessageDraft[],
    idempotency?: { agent: string; clientMsgId: string },
  ): Promise<{ messages: ChannelMessage[]; duplicate: boolean }> {
    if (drafts.length === 0) return { messages: [], duplicate: false };
    try {
      const messages = await this.#withHead(channelId, (q, head) =>
        appendAfter(
          q,
          this.#s,
          channelId,
          head,
          drafts,
          idempotency === undefined
            ? undefined
            : {
                // A repeat violates the key, which rolls the whole statement back: then it is a duplicate.
                ctes: [
                  `c AS (INSERT INTO ${this.#s}.client_msg_ids (channel_id, agent, client_msg_id, first_seq, count)
                     SELECT $1::text, $8::text, $9::text, $4::int + 1, $10::int WHERE EXISTS (SELECT 1 FROM h) RETURNING 1)`,
                ],
                guards: [],
                values: [idempotency.agent, idempotency.clientMsgId, drafts.length],
              },
        ),
      );
      this.#advance(channelId, messages);
      return { messages, duplicate: false };
    } catch (error) {
      const duplicate =
        idempotency !== undefined &&
        error instanceof McpcpError &&
        (error.cause as { code?: unknown; table?: unknown } | undefined)?.code === uniqueViolation &&
        (error.cause as { table?: unknown }).table === 'client_msg_ids';
      if (!duplicate) throw error;
      const { rows } = await this.#query<{ data: string }>(
        `SELECT m.data FROM ${this.#s}.client_msg_ids c JOIN ${this.#s}.messages m
           ON m.channel_id = c.channel_id AND m.seq >= c.first_seq AND m.seq < c.first_seq + c.count
         WHERE c.channel_id = $1 AND c.agent = $2 AND c.client_msg_id = $3 ORDER BY m.seq`,
        [channelId, idempotency.agent, idempotency.clientMsgId],
      );
      return { messages: rows.map((row) => parseJson<ChannelMessage>(row.data)), duplicate: true };
    }
  }

  async readMessages(channelId: string, afterSeq: number, limit: number): Promise<ChannelMessage[]> {
    const { rows } = await this.#query<{ data: string }>({
      name: 'readMessages',
      text: `SELECT data FROM ${this.#s}.messages WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      values: [channelId, afterSeq, limit],
    });
    return rows.map((row) => parseJson<ChannelMessage>(row.data));
  }

  async head(channelId: string): Promise<{ seq: number; hash: string }> {
    const step = this.#stepFor(channelId);
    return step !== undefined ? { ...step.head } : this.#readHead(channelId);
  }

  async getBot(channelId: string): Promise<BotRecord | undefined> {
    const step = this.#stepFor(channelId);
    if (step !== undefined) return step.bot === undefined ? undefined : structuredClone(step.bot);
    const { rows } = await this.#query<{ data: string }>({
      name: 'getBot',
      text: `SELECT data FROM ${this.#s}.bots WHERE channel_id = $1`,
      values: [channelId],
    });
    return rows[0] === undefined ? undefined : parseJson<BotRecord>(rows[0].data);
  }

  async saveBot(
    bot: BotRecord,
    messages: MessageDraft[],
  ): Promise<{ bot: BotRecord; messages: ChannelMessage[] }> {
    const next: BotRecord = { ...bot, version: bot.version + 1 };
    // The bot's compare-and-swap and the messages are one statement: both land or neither does.
    const sealed = await this.#withHead(bot.channelId, (q, head) =>
      appendAfter(q, this.#s, bot.channelId, head, messages, {
        ctes: [
          `b AS (UPDATE ${this.#s}.bots SET version = $8::int, data = $9::text
             WHERE channel_id = $1::text AND version = $10::int RETURNING 1)`,
        ],
        guards: [`${this.#s}.guard(EXISTS (SELECT 1 FROM b), 'bot')`],
        values: [next.version, JSON.stringify(next), bot.version],
      }),
    );
    const step = this.#stepFor(bot.channelId);
    if (step !== undefined) step.bot = next;
    this.#advance(bot.channelId, sealed);
    return { bot: next, messages: sealed };
  }

  async putBotSource(codeHash: string, source: string): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#s}.bot_sources (code_hash, source) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [codeHash, source],
    );
  }

  async getBotSource(codeHash: string): Promise<string | undefined> {
    const cached = this.#sources.get(codeHash);
    if (cached !== undefined) return cached;
    const { rows } = await this.#query<{ source: string }>(
      `SELECT source FROM ${this.#s}.bot_sources WHERE code_hash = $1`,
      [codeHash],
    );
    const source = rows[0]?.source;
    if (source !== undefined) this.#sources.set(codeHash, source);
    return source;
  }

  async getCursor(channelId: string, agent: string): Promise<number> {
    const { rows } = await this.#query<{ seq: number }>({
      name: 'getCursor',
      text: `SELECT seq FROM ${this.#s}.cursors WHERE channel_id = $1 AND agent = $2`,
      values: [channelId, agent],
    });
    return rows[0]?.seq ?? 0;
  }

  async setCursor(channelId: string, agent: string, seq: number): Promise<void> {
    await this.#query({
      name: 'setCursor',
      text: `INSERT INTO ${this.#s}.cursors (channel_id, agent, seq) VALUES ($1, $2, $3)
             ON CONFLICT (channel_id, agent) DO UPDATE SET seq = excluded.seq`,
      values: [channelId, agent, seq],
    });
  }

  watchAppends(listener: AppendWatcher): () => void {
    return this.#feed.watch(listener);
  }

  async ping(): Promise<boolean> {
    try {
      await this.#pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#locks.releaseAll();
    await this.#feed.close();
    await this.#pool.end();
  }
}
