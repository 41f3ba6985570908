// SQLite implementation of ChannelStore with node:sqlite: one connection (one writer), WAL, a migrations table.
// Every method runs synchronously inside one transaction, so a crash leaves either all of a change or none of it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { McpcpError } from '../../../lib/errors.ts';
import { genesisHash, sealMessage, type ChannelMessage, type MessageDraft } from '../transcript.ts';
import type {
  BotRecord,
  ChannelCommit,
  ChannelCommitResult,
  ChannelRecord,
  ChannelStore,
  InviteRecord,
} from './types.ts';

const migrations: string[] = [
  `CREATE TABLE channels (
     id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE channel_members (
     channel_id TEXT NOT NULL, agent TEXT NOT NULL, PRIMARY KEY (channel_id, agent));
   CREATE INDEX channel_members_agent ON channel_members(agent);
   CREATE TABLE invites (
     code_hash TEXT PRIMARY KEY, channel_id TEXT NOT NULL, slot_id TEXT NOT NULL, kind TEXT NOT NULL,
     created_at INTEGER NOT NULL, used_at INTEGER);
   CREATE INDEX invites_slot ON invites(channel_id, slot_id);
   CREATE TABLE messages (
     channel_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, data TEXT NOT NULL,
     PRIMARY KEY (channel_id, seq)) WITHOUT ROWID;
   CREATE TABLE client_msg_ids (
     channel_id TEXT NOT NULL, agent TEXT NOT NULL, client_msg_id TEXT NOT NULL,
     first_seq INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (channel_id, agent, client_msg_id)) WITHOUT ROWID;
   CREATE TABLE bots (channel_id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
   CREATE TABLE bot_sources (code_hash TEXT PRIMARY KEY, source TEXT NOT NULL);
   CREATE TABLE cursors (
     channel_id TEXT NOT NULL, agent TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (channel_id, agent)) WITHOUT ROWID;`,
];

export interface SqliteStoreOptions {
  /** Database file, or ':memory:'. */
  file: string;
}

export function createSqliteChannelStore(options: SqliteStoreOptions): ChannelStore {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const db = new DatabaseSync(options.file);
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;',
  );
  migrate(db);
  return new SqliteChannelStore(db);
}

function migrate(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM migrations').get() as { id: number };
  for (let id = row.id + 1; id <= migrations.length; id += 1) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migrations[id - 1]!);
      db.prepare('INSERT INTO migrations (id, applied_at) VALUES (?, ?)').run(id, Date.now());
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}

class SqliteChannelStore implements ChannelStore {
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #q(sql: string): StatementSync {
    let stmt = this.#stmts.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#stmts.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs fn in one IMMEDIATE transaction; failures come back as a rejected promise, never a synchronous throw. */
  #tx<T>(fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new McpcpError('ERR_INTERNAL', 'channel store is closed');
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = fn();
        this.#db.exec('COMMIT');
        return Promise.resolve(result);
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #head(channelId: string): { seq: number; hash: string } {
    const row = this.#q('SELECT seq, hash FROM messages WHERE channel_id = ? ORDER BY seq DESC LIMIT 1').get(
      channelId,
    ) as { seq: number; hash: string } | undefined;
    return row ?? { seq: 0, hash: genesisHash };
  }

  #append(channelId: string, drafts: readonly MessageDraft[]): ChannelMessage[] {
    let { seq, hash } = this.#head(channelId);
    const out: ChannelMessage[] = [];
    const insert = this.#q('INSERT INTO messages (channel_id, seq, hash, data) VALUES (?, ?, ?, ?)');
    for (const draft of drafts) {
      seq += 1;
      const message = sealMessage(channelId, seq, hash, draft);
      insert.run(channelId, seq, message.hash, JSON.stringify(message));
      hash = message.hash;
      out.push(message);
    }
    return out;
  }

  #writeChannel(channel: ChannelRecord): void {
    this.#q('INSERT OR REPLACE INTO channels (id, version, data, created_at) VALUES (?, ?, ?, ?)').run(
      channel.id,
      channel.version,
      JSON.stringify(channel),
      channel.createdAt,
    );
    this.#q('DELETE FROM channel_members WHERE channel_id = ?').run(channel.id);
    const add = this.#q('INSERT OR IGNORE INTO channel_members (channel_id, agent) VALUES (?, ?)');
    add.run(channel.id, channel.admin);
    for (const slot of channel.slots) if (slot.agent !== null) add.run(channel.id, slot.agent);
  }

  #addInvite(invite: InviteRecord): void {
    this.#q(
      'INSERT INTO invites (code_hash, channel_id, slot_id, kind, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(invite.codeHash, invite.channelId, invite.slotId, invite.kind, invite.createdAt, invite.usedAt);
  }

  #getBot(channelId: string): BotRecord | undefined {
    const row = this.#q('SELECT data FROM bots WHERE channel_id = ?').get(channelId) as
      { data: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.data) as BotRecord);
  }

  #putBot(bot: BotRecord): BotRecord {
    const current = this.#getBot(bot.channelId);
    if (current !== undefined && current.version !== bot.version) {
      throw new McpcpError('ERR_CONFLICT', `bot state changed concurrently (version ${current.version})`);
    }
    const next = { ...bot, version: current === undefined ? 1 : bot.version + 1 };
    this.#q('INSERT OR REPLACE INTO bots (channel_id, version, data) VALUES (?, ?, ?)').run(
      bot.channelId,
      next.version,
      JSON.stringify(next),
    );
    return next;
  }

  createChannel(
    channel: ChannelRecord,
    invites: InviteRecord[],
    messages: MessageDraft[],
  ): Promise<ChannelMessage[]> {
    return this.#tx(() => {
      const exists = this.#q('SELECT 1 FROM channels WHERE id = ?').get(channel.id);
      if (exists !== undefined) throw new McpcpError('ERR_CONFLICT', `channel ${channel.id} exists`);
      this.#writeChannel(channel);
      for (const invite of invites) this.#addInvite(invite);
      return this.#append(channel.id, messages);
    });
  }

  getChannel(id: string): Promise<ChannelRecord | undefined> {
    const row = this.#q('SELECT data FROM channels WHERE id = ?').get(id) as { data: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row.data) as ChannelRecord));
  }

  listChannels(agent: string): Promise<ChannelRecord[]> {
    const rows = this.#q(
      `SELECT c.data FROM channels c JOIN channel_members m ON m.channel_id = c.id
       WHERE m.agent = ? ORDER BY c.created_at, c.id`,
    ).all(agent) as Array<{ data: string }>;
    return Promise.resolve(rows.map((row) => JSON.parse(row.data) as ChannelRecord));
  }

  commit(channelId: string, change: ChannelCommit): Promise<ChannelCommitResult> {
    return this.#tx(() => {
      const row = this.#q('SELECT data FROM channels WHERE id = ?').get(channelId) as
        { data: string } | undefined;
      if (row === undefined) throw new McpcpError('ERR_CHANNEL_NOT_FOUND', `no channel ${channelId}`);
      let channel = JSON.parse(row.data) as ChannelRecord;
      if (change.channel !== undefined) {
        if (change.channel.version !== channel.version) {
          throw new McpcpError('ERR_CONFLICT', `channel ${channelId} changed concurrently`);
        }
        channel = { ...change.channel, version: channel.version + 1 };
        this.#writeChannel(channel);
      }
      const now = Date.now();
      for (const codeHash of change.consumeInvites ?? []) {
        const result = this.#q(
          'UPDATE invites SET used_at = ? WHERE code_hash = ? AND channel_id = ? AND used_at IS NULL',
        ).run(now, codeHash, channelId);
        if (Number(result.changes) !== 1) {
          throw new McpcpError('ERR_INVITE_INVALID', 'invite code is unknown or already used');
        }
      }
      for (const { slotId, kind } of change.revokeInvites ?? []) {
        this.#q(
          'UPDATE invites SET used_at = ? WHERE channel_id = ? AND slot_id = ? AND kind = ? AND used_at IS NULL',
        ).run(now, channelId, slotId, kind);
      }
      for (const invite of change.addInvites ?? []) this.#addInvite(invite);
      let bot: BotRecord | null = this.#getBot(channelId) ?? null;
      if (change.bot === null) {
        this.#q('DELETE FROM bots WHERE channel_id = ?').run(channelId);
        bot = null;
      } else if (change.bot !== undefined) {
        bot = this.#putBot(change.bot);
      }
      const messages = this.#append(channelId, change.messages ?? []);
      return { channel, bot, messages };
    });
  }

  findInvite(codeHash: string): Promise<InviteRecord | undefined> {
    const row = this.#q(
      'SELECT code_hash, channel_id, slot_id, kind, created_at, used_at FROM invites WHERE code_hash = ?',
    ).get(codeHash) as
      | {
          code_hash: string;
          channel_id: string;
          slot_id: string;
          kind: string;
          created_at: number;
          used_at: number | null;
        }
      | undefined;
    if (row === undefined) return Promise.resolve(undefined);
    return Promise.resolve({
      codeHash: row.code_hash,
      channelId: row.channel_id,
      slotId: row.slot_id,
      kind: row.kind === 'rejoin' ? 'rejoin' : 'invite',
      createdAt: row.created_at,
      usedAt: row.used_at,
    });
  }

  append(
    channelId: string,
    drafts: MessageDraft[],
    idempotency?: { agent: string; clientMsgId: string },
  ): Promise<{ messages: ChannelMessage[]; duplicate: boolean }> {
    return this.#tx(() => {
      if (idempotency !== undefined) {
        const seen = this.#q(
          'SELECT first_seq, count FROM client_msg_ids WHERE channel_id = ? AND agent = ? AND client_msg_id = ?',
        ).get(channelId, idempotency.agent, idempotency.clientMsgId) as
          { first_seq: number; count: number } | undefined;
        if (seen !== undefined) {
          const rows = this.#q(
            'SELECT data FROM messages WHERE channel_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
          ).all(channelId, seen.first_seq, seen.count) as Array<{ data: string }>;
          return { messages: rows.map((r) => JSON.parse(r.data) as ChannelMessage), duplicate: true };
        }
      }
      const messages = this.#append(channelId, drafts);
      if (idempotency !== undefined && messages.length > 0) {
        this.#q(
          'INSERT INTO client_msg_ids (channel_id, agent, client_msg_id, first_seq, count) VALUES (?, ?, ?, ?, ?)',
        ).run(channelId, idempotency.agent, idempotency.clientMsgId, messages[0]!.seq, messages.length);
      }
      return { messages, duplicate: false };
    });
  }

  readMessages(channelId: string, afterSeq: number, limit: number): Promise<ChannelMessage[]> {
    const rows = this.#q(
      'SELECT data FROM messages WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ).all(channelId, afterSeq, limit) as Array<{ data: string }>;
    return Promise.resolve(rows.map((row) => JSON.parse(row.data) as ChannelMessage));
  }

  head(channelId: string): Promise<{ seq: number; hash: string }> {
    return Promise.resolve(this.#head(channelId));
  }

  getBot(channelId: string): Promise<BotRecord | undefined> {
    return Promise.resolve(this.#getBot(channelId));
  }

  saveBot(bot: BotRecord, messages: MessageDraft[]): Promise<{ bot: BotRecord; messages: ChannelMessage[] }> {
    return this.#tx(() => {
      const saved = this.#putBot(bot);
      return { bot: saved, messages: this.#append(bot.channelId, messages) };
    });
  }

  async putBotSource(codeHash: string, source: string): Promise<void> {
    await this.#tx(() =>
      this.#q('INSERT OR IGNORE INTO bot_sources (code_hash, source) VALUES (?, ?)').run(codeHash, source),
    );
  }

  getBotSource(codeHash: string): Promise<string | undefined> {
    const row = this.#q('SELECT source FROM bot_sources WHERE code_hash = ?').get(codeHash) as
      { source: string } | undefined;
    return Promise.resolve(row?.source);
  }

  getCursor(channelId: string, agent: string): Promise<number> {
    const row = this.#q('SELECT seq FROM cursors WHERE channel_id = ? AND agent = ?').get(
      channelId,
      agent,
    ) as { seq: number } | undefined;
    return Promise.resolve(row?.seq ?? 0);
  }

  setCursor(channelId: string, agent: string, seq: number): Promise<void> {
    this.#q(
      `INSERT INTO cursors (channel_id, agent, seq) VALUES (?, ?, ?)
       ON CONFLICT (channel_id, agent) DO UPDATE SET seq = excluded.seq`,
    ).run(channelId, agent, seq);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }
}
