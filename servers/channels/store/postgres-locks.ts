// The per-channel lock of a write step, across replicas: a session advisory lock (`pg_advisory_lock`, key from
// sha256(schema:channel)) on a dedicated pooled connection, taken in one round trip with a snapshot of the channel,
// its bot and its head read under it. The lock goes back in one of two ways: with the step's last write, in that
// write's own round trip after its COMMIT (`releaseSql`), when the store can tell no further write of the step needs
// it; or after the step, unless a step already queued behind it on the same channel in this process takes it over
// (no unlock, no relock, the snapshot still true) for a bounded time, so other replicas still get their turn. The
// lock belongs to the connection: a process killed outright frees it when PostgreSQL sees the socket close.
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
  /** The advisory lock key of the channel. */
  key: string;
  channel: ChannelRecord | undefined;
  bot: BotRecord | undefined;
  head: Head;
  /**
   * The lock went back with one of the step's writes. Reads still answer from the snapshot (the channel as the
   * step left it, which is its place in the order); a later write locks for its own transaction and lands only if
   * the head is still where the step left it.
   */
  released: boolean;
  /** Whether another step on this channel is already queued behind this one in this process. */
  queued: () => boolean;
  /** Steps that took this lock over without releasing it, and since when it is held. */
  uses: number;
  since: number;
}

// How long one process may keep a channel's lock across back-to-back steps before other replicas get a turn.
const maxHandOvers = 64;
const maxHoldMs = 20;

/** 64-bit advisory lock key of a channel (a collision only makes two channels wait for each other). */
export function lockKey(schema: string, channelId: string): string {
  return createHash('sha256').update(`${schema}:${channelId}`).digest().readBigInt64BE(0).toString();
}

/** The statement that gives a step's lock back; sent after a COMMIT in the same round trip, or on its own. */
export function releaseSql(step: Step): string {
  return `SELECT pg_advisory_unlock(${step.key})`;
}

const parseJson = <T>(text: string): T => JSON.parse(text) as T;

export class ChannelLocks {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #s: string;
  readonly #count: () => void;
  readonly #held = new Map<string, { step: Step; timer: NodeJS.Immediate | undefined }>();

  constructor(pool: pg.Pool, schema: string, countRoundTrip: () => void) {
    this.#pool = pool;
    this.#schema = schema;
    this.#s = `"${schema}"`;
    this.#count = countRoundTrip;
  }

  /** The channel's lock and step state: taken over from the step before, or locked now. */
  async take(channelId: string, queued: () => boolean): Promise<Step> {
    const held = this.#held.get(channelId);
    if (held === undefined) return this.#lock(channelId, queued);
    // The previous step on this channel still holds the lock: its snapshot is current (every writer takes the
    // lock), so this step costs no round trip to start.
    this.#held.delete(channelId);
    clearImmediate(held.timer);
    held.step.uses += 1;
    held.step.queued = queued;
    return held.step;
  }

  /**
   * Whether the step's next write should carry the unlock: once it lands the step cannot need the lock again (the
   * channel has no bot, so no hook will write after it), and no step of this process waits to take the lock over,
   * or the lock was kept long enough that other replicas must get their turn.
   */
  releasesWithWrite(step: Step): boolean {
    return !step.released && step.bot === undefined && (!step.queued() || !this.#mayKeep(step));
  }

  /** Releases every lock kept for a successor (the store is closing). */
  releaseAll(): void {
    for (const held of this.#held.values()) {
      clearImmediate(held.timer);
      this.#unlock(held.step);
    }
    this.#held.clear();
  }

  #mayKeep(step: Step): boolean {
    return step.uses < maxHandOvers && performance.now() - step.since < maxHoldMs;
  }

  async #lock(channelId: string, queued: () => boolean): Promise<Step> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    const key = lockKey(this.#schema, channelId);
    try {
      // One round trip: lock, then read (its own statement, so its snapshot is taken after the lock is granted;
      // the last holder gave the lock back only after its COMMIT).
      this.#count();
      const results = (await client.query(
        `SELECT pg_advisory_lock(${key});
         SELECT c.data, c.head_seq, c.head_hash, b.data AS bot FROM ${this.#s}.channels c
           LEFT JOIN ${this.#s}.bots b ON b.channel_id = c.id WHERE c.id = ${client.escapeLiteral(channelId)}`,
      )) as unknown as pg.QueryResult[];
      const row = results[1]?.rows[0] as
        { data: string; head_seq: number; head_hash: string; bot: string | null } | undefined;
      return {
        client,
        channelId,
        key,
        channel: row === undefined ? undefined : parseJson<ChannelRecord>(row.data),
        bot: row?.bot == null ? undefined : parseJson<BotRecord>(row.bot),
        head: row === undefined ? { seq: 0, hash: genesisHash } : { seq: row.head_seq, hash: row.head_hash },
        released: false,
        queued,
        uses: 0,
        since: performance.now(),
      };
    } catch (error) {
      client.release(true);
      throw storeError(error);
    }
  }

  /**
   * After a step: a lock already given back with a write only returns the connection. Otherwise a step on this
   * channel in this process that starts before the next macrotask (one already queued, or the caller's next post
   * right after this answer) takes the lock over; without one, or after a failure, or once the lock was kept long
   * enough, it is released. The unlock is off the answer's path either way, so keeping it costs nothing.
   */
  release(step: Step, failed: boolean, closed: boolean): void {
    if (step.released) return step.client.release();
    const keep = !failed && !closed && this.#mayKeep(step);
    if (!keep) return this.#unlock(step);
    const held = { step, timer: undefined as NodeJS.Immediate | undefined };
    held.timer = setImmediate(() => {
      if (this.#held.get(step.channelId) !== held) return;
      this.#held.delete(step.channelId);
      this.#unlock(step);
    });
    this.#held.set(step.channelId, held);
  }

  #unlock(step: Step): void {
    // Off the answer's path: the next step on this channel simply waits in PostgreSQL until this lands.
    const { client } = step;
    this.#count();
    client.query(releaseSql(step)).then(
      () => client.release(),
      (error: unknown) => client.release(error instanceof Error ? error : true),
    );
  }
}
