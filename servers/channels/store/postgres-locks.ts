// The per-channel lock of a write step, across replicas: a session advisory lock (`pg_advisory_lock`, key from
// sha256(schema:channel)) on a dedicated pooled connection, taken in one round trip with a snapshot of the channel,
// its bot and its head read under it. A step queued right behind on the same channel in this process takes the lock
// over (no unlock, no relock, the snapshot still true) for a bounded time, so other replicas still get their turn.
// The lock belongs to the connection: a process killed outright frees it when PostgreSQL sees the socket close.
// It must not write channel data; postgres.ts does.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { BotRecord, ChannelRecord } from './types.ts';
import { genesisHash } from '../transcript.ts';
import { storeError } from './postgres-errors.ts';

export interface Head {
  seq: number;
  hash: string;
}

/** A write step's view of its channel, valid while the step holds the channel's lock. */
export interface Step {
  client: pg.PoolClient;
  channelId: string;
  channel: ChannelRecord | undefined;
  bot: BotRecord | undefined;
  head: Head;
}

/** A channel lock this process holds, with the step state read under it. */
export interface Held {
  step: Step;
  key: string;
  /** Steps that took the lock over without releasing it. */
  uses: number;
  since: number;
  timer: NodeJS.Immediate | undefined;
}

// How long one process may keep a channel's lock across back-to-back steps before other replicas get a turn.
const maxHandOvers = 64;
const maxHoldMs = 20;

/** 64-bit advisory lock key of a channel (a collision only makes two channels wait for each other). */
export function lockKey(schema: string, channelId: string): string {
  return createHash('sha256').update(`${schema}:${channelId}`).digest().readBigInt64BE(0).toString();
}

const parseJson = <T>(text: string): T => JSON.parse(text) as T;

export class ChannelLocks {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #s: string;
  readonly #count: () => void;
  readonly #held = new Map<string, Held>();

  constructor(pool: pg.Pool, schema: string, countRoundTrip: () => void) {
    this.#pool = pool;
    this.#schema = schema;
    this.#s = `"${schema}"`;
    this.#count = countRoundTrip;
  }

  /** The channel's lock and step state: taken over from the step before, or locked now. */
  async take(channelId: string): Promise<Held> {
    const held = this.#held.get(channelId);
    if (held === undefined) return this.#lock(channelId);
    // The previous step on this channel still holds the lock: its snapshot is current (every writer takes the
    // lock), so this step costs no round trip to start.
    this.#held.delete(channelId);
    clearImmediate(held.timer);
    held.uses += 1;
    return held;
  }

  /** Releases every lock kept for a successor (the store is closing). */
  releaseAll(): void {
    for (const held of this.#held.values()) {
      clearImmediate(held.timer);
      this.#unlock(held);
    }
    this.#held.clear();
  }

  async #lock(channelId: string): Promise<Held> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    const key = lockKey(this.#schema, channelId);
    try {
      // One round trip: lock, then read (its own statement, so its snapshot is taken after the lock is granted).
      this.#count();
      const results = (await client.query(
        `SELECT pg_advisory_lock(${key});
         SELECT c.data, c.head_seq, c.head_hash, b.data AS bot FROM ${this.#s}.channels c
           LEFT JOIN ${this.#s}.bots b ON b.channel_id = c.id WHERE c.id = ${client.escapeLiteral(channelId)}`,
      )) as unknown as pg.QueryResult[];
      const row = results[1]?.rows[0] as
        { data: string; head_seq: number; head_hash: string; bot: string | null } | undefined;
      const step: Step = {
        client,
        channelId,
        channel: row === undefined ? undefined : parseJson<ChannelRecord>(row.data),
        bot: row?.bot == null ? undefined : parseJson<BotRecord>(row.bot),
        head: row === undefined ? { seq: 0, hash: genesisHash } : { seq: row.head_seq, hash: row.head_hash },
      };
      return { step, key, uses: 0, since: performance.now(), timer: undefined };
    } catch (error) {
      client.release(true);
      throw storeError(error);
    }
  }

  /**
   * After a step: a step already queued on this channel in this process (the service chains them) takes the lock
   * over before the next macrotask; otherwise, or after a failure, or once the lock was kept for long enough that
   * other replicas must get their turn, it is released.
   */
  release(channelId: string, held: Held, failed: boolean, closed: boolean): void {
    const keep = !failed && !closed && held.uses < maxHandOvers && performance.now() - held.since < maxHoldMs;
    if (!keep) return this.#unlock(held);
    held.timer = setImmediate(() => {
      if (this.#held.get(channelId) !== held) return;
      this.#held.delete(channelId);
      this.#unlock(held);
    });
    this.#held.set(channelId, held);
  }

  #unlock(held: Held): void {
    // Off the answer's path: the next step on this channel simply waits in PostgreSQL until this lands.
    const { client } = held.step;
    this.#count();
    client.query(`SELECT pg_advisory_unlock(${held.key})`).then(
      () => client.release(),
      (error: unknown) => client.release(error instanceof Error ? error : true),
    );
  }
}
