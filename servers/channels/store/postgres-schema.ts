// The PostgreSQL schema of the channels store and its migrations, recorded in `<schema>.migrations`. Replicas that
// start together serialise on a transaction-scoped advisory lock, so each migration runs exactly once. It must not
// hold queries of the store itself (postgres.ts).
import type pg from 'pg';

/** Identifiers are interpolated into SQL, so only plain lowercase names are accepted. */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,47}$/;

/** The NOTIFY channel appends are announced on (one per schema, so schemas sharing a database stay apart). */
export function appendChannelOf(schema: string): string {
  return `mcpcp_append_${schema}`;
}

// Each entry is one migration; `$s` stands for the quoted schema. Never edit a released entry: append a new one.
const migrations: readonly string[] = [
  `CREATE TABLE $s.channels (
     id text PRIMARY KEY, version integer NOT NULL, data text NOT NULL, created_at bigint NOT NULL,
     head_seq integer NOT NULL DEFAULT 0, head_hash text NOT NULL);
   CREATE TABLE $s.channel_members (channel_id text NOT NULL, agent text NOT NULL, PRIMARY KEY (channel_id, agent));
   CREATE INDEX channel_members_agent ON $s.channel_members (agent);
   CREATE TABLE $s.invites (
     code_hash text PRIMARY KEY, channel_id text NOT NULL, slot_id text NOT NULL, kind text NOT NULL,
     created_at bigint NOT NULL, used_at bigint);
   CREATE INDEX invites_slot ON $s.invites (channel_id, slot_id);
   CREATE TABLE $s.messages (
     channel_id text NOT NULL, seq integer NOT NULL, hash text NOT NULL, data text NOT NULL,
     PRIMARY KEY (channel_id, seq));
   CREATE TABLE $s.client_msg_ids (
     channel_id text NOT NULL, agent text NOT NULL, client_msg_id text NOT NULL,
     first_seq integer NOT NULL, count integer NOT NULL, PRIMARY KEY (channel_id, agent, client_msg_id));
   CREATE TABLE $s.bots (channel_id text PRIMARY KEY, version integer NOT NULL, data text NOT NULL);
   CREATE TABLE $s.bot_sources (code_hash text PRIMARY KEY, source text NOT NULL);
   CREATE TABLE $s.cursors (
     channel_id text NOT NULL, agent text NOT NULL, seq integer NOT NULL, PRIMARY KEY (channel_id, agent));
   -- Raised by a statement whose guard (head or version compare-and-swap) failed, so its other writes roll back.
   CREATE FUNCTION $s.guard(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
   BEGIN
     IF NOT ok THEN RAISE EXCEPTION 'mcpcp guard failed: %', what USING ERRCODE = 'MC001'; END IF;
     RETURN true;
   END $$;
   -- One notification per channel per statement, sent at commit: "<channel id> <new head seq>".
   CREATE FUNCTION $s.notify_append() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('mcpcp_append_' || TG_TABLE_SCHEMA, channel_id || ' ' || max(seq))
       FROM added GROUP BY channel_id;
     RETURN NULL;
   END $$;
   CREATE TRIGGER messages_notify AFTER INSERT ON $s.messages
     REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION $s.notify_append();`,
];

/** Brings the schema up to date; returns the ids of the migrations this call applied. */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const s = `"${schema}"`;
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    // A fixed key per schema: concurrent starts wait here instead of racing on CREATE.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`mcpcp-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (id integer PRIMARY KEY, applied_at bigint NOT NULL)`,
    );
    const { rows } = await client.query<{ id: number }>(
      `SELECT COALESCE(MAX(id), 0)::int AS id FROM ${s}.migrations`,
    );
    for (let id = rows[0]!.id + 1; id <= migrations.length; id += 1) {
      await client.query(migrations[id - 1]!.replaceAll('$s.', `${s}.`));
      await client.query(`INSERT INTO ${s}.migrations (id, applied_at) VALUES ($1, $2)`, [id, Date.now()]);
      applied.push(id);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
