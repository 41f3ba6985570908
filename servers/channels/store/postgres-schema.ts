// The PostgreSQL schema of the channels store and its migrations (applied by lib/postgres/migrate.ts when the store opens). It must not
// hold queries of the store itself (postgres.ts).

/** The NOTIFY channel appends are announced on (one per schema, so schemas sharing a database stay apart). */
export function appendChannelOf(schema: string): string {
  return `mcpcp_append_${schema}`;
}

// Each entry is one migration; `$s` stands for the quoted schema. Never edit a released entry: append a new one.
export const channelMigrations: readonly string[] = [
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
