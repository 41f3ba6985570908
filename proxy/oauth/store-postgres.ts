// The authorization server's state in PostgreSQL, shared by every proxy replica of a fleet: the same rows as the
// SQLite store (store.ts: bearer ids hashed), in `<schema>.records`, and the secrets every replica must agree on
// (cookie and CSRF keys) in `<schema>.secrets`. Any replica can then serve any step of a sign-in, refresh any token,
// and honour a revocation made on another.
// The hot path is `grantAgent`, asked on every request an OAuth token makes: it answers from memory. A trigger
// announces every change to a grant row (NOTIFY `mcpcp_oauth_<schema>`, payload the grant id) and each replica drops
// that grant from memory, so a revocation reaches every replica within one notification. After a LISTEN reconnect
// (notifications missed) the memory is emptied. So a tool call costs no round trip once its grant is known here.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../../lib/log.ts';
import { parsePostgresUrl, unavailable } from '../../lib/postgres/address.ts';
import { listen } from '../../lib/postgres/listen.ts';
import { openStorePool } from '../../lib/postgres/pool.ts';
import {
  recordsOf,
  sha256,
  type AdapterPayload,
  type GrantBinding,
  type ModelAdapter,
  type OAuthStore,
} from './store.ts';

// Each entry is one migration; `$s.` stands for the quoted schema. Never edit a released entry: append a new one.
const migrations: readonly string[] = [
  `CREATE TABLE $s.records (
     model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL, grant_id text, uid text, user_code text,
     expires_at bigint, agent jsonb, PRIMARY KEY (model, id));
   CREATE INDEX records_grant ON $s.records (model, grant_id) WHERE grant_id IS NOT NULL;
   CREATE INDEX records_uid ON $s.records (model, uid) WHERE uid IS NOT NULL;
   CREATE INDEX records_user_code ON $s.records (model, user_code) WHERE user_code IS NOT NULL;
   CREATE INDEX records_expiry ON $s.records (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE $s.secrets (name text PRIMARY KEY, value text NOT NULL);
   -- Sent at commit, once per changed or removed grant: replicas drop it from memory and re-read it on next use.
   CREATE FUNCTION $s.notify_grant() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('mcpcp_oauth_' || TG_TABLE_SCHEMA, OLD.id);
     RETURN NULL;
   END $$;
   CREATE TRIGGER grants_changed AFTER UPDATE OR DELETE ON $s.records
     FOR EACH ROW WHEN (OLD.model = 'Grant') EXECUTE FUNCTION $s.notify_grant();`,
];

/** Grants remembered per replica; beyond this the oldest are forgotten (and re-read when used). */
const maxRemembered = 10_000;

export interface PostgresOAuthStore extends OAuthStore {
  /** Queries sent so far (for tests and the benchmark: the hot path sends none). */
  readonly roundTrips: number;
}

export async function openPostgresOAuthStore(options: {
  url: string;
  logger: Logger;
  now?: (() => number) | undefined;
  poolSize?: number;
}): Promise<PostgresOAuthStore> {
  const address = parsePostgresUrl(options.url, 'mcpcp_oauth');
  const { logger } = options;
  const now = options.now ?? Date.now;
  const s = `"${address.schema}"`;
  const { pool, connection } = await openStorePool({
    address,
    application: 'mcpcp-oauth',
    poolSize: options.poolSize ?? 5,
    migrations,
    logger,
    what: 'OAuth store',
  });

  let roundTrips = 0;
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<R[]> => {
    roundTrips += 1;
    try {
      return (await pool.query<R>(sql, values)).rows;
    } catch (error) {
      throw unavailable(error, 'OAuth store query failed');
    }
  };

  // grant id -> binding and expiry. `changes` counts notifications: a read that saw one arrive meanwhile is not kept,
  // since the row it read may be the one the notification retired.
  const remembered = new Map<string, GrantBinding & { expiresAt: number | null }>();
  let changes = 0;
  const forget = (grantId: string | undefined): void => {
    changes += 1;
    if (grantId === undefined) remembered.clear();
    else remembered.delete(grantId);
  };
  const listener = listen({
    connection,
    channel: `mcpcp_oauth_${address.schema}`,
    logger,
    onNotification: (grantId) => forget(grantId),
    onResync: () => forget(undefined),
  });
  await listener.ready;

  const live = 'AND (expires_at IS NULL OR expires_at > $3)';
  const byId = `SELECT payload FROM ${s}.records WHERE model = $1 AND id = $2 ${live}`;

  function adapterFor(model: string): ModelAdapter {
    const { key, row, read } = recordsOf(model, now);
    const first = (rows: { payload: AdapterPayload }[], id?: string): AdapterPayload | undefined =>
      read(rows[0]?.payload, id);
    return {
      async upsert(id, payload, expiresIn) {
        await query(
          `INSERT INTO ${s}.records (model, id, payload, grant_id, uid, user_code, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
          row(id, payload, expiresIn),
        );
      },
      async find(id) {
        return first(await query(byId, [model, key(id), now()]), id);
      },
      async findByUid(uid) {
        return first(
          await query(`SELECT payload FROM ${s}.records WHERE model = $1 AND uid = $2 ${live}`, [
            model,
            uid,
            now(),
          ]),
        );
      },
      async findByUserCode(userCode) {
        return first(
          await query(`SELECT payload FROM ${s}.records WHERE model = $1 AND user_code = $2 ${live}`, [
            model,
            sha256(userCode),
            now(),
          ]),
        );
      },
      async consume(id) {
        await query(
          `UPDATE ${s}.records SET payload = jsonb_set(payload, '{consumed}', to_jsonb($1::bigint))
           WHERE model = $2 AND id = $3`,
          [Math.floor(now() / 1000), model, key(id)],
        );
      },
      async destroy(id) {
        await query(`DELETE FROM ${s}.records WHERE model = $1 AND id = $2`, [model, key(id)]);
      },
      async revokeByGrantId(grantId) {
        await query(`DELETE FROM ${s}.records WHERE model = $1 AND grant_id = $2`, [model, grantId]);
      },
    };
  }

  return {
    adapterFor,
    get roundTrips() {
      return roundTrips;
    },
    async setGrantAgent(grantId, user, agent) {
      await query(`UPDATE ${s}.records SET agent = $1 WHERE model = 'Grant' AND id = $2`, [
        JSON.stringify({ user, agent }),
        grantId,
      ]);
    },
    async grantAgent(grantId) {
      const known = remembered.get(grantId);
      if (known !== undefined) {
        if (known.expiresAt === null || known.expiresAt > now())
          return { user: known.user, agent: known.agent };
        remembered.delete(grantId);
        return undefined;
      }
      const seen = changes;
      const rows = await query<{ agent: GrantBinding | null; expires_at: string | null }>(
        `SELECT agent, expires_at FROM ${s}.records
         WHERE model = 'Grant' AND id = $1 AND (expires_at IS NULL OR expires_at > $2)`,
        [grantId, now()],
      );
      const agent = rows[0]?.agent;
      if (agent == null) return undefined;
      const binding = { user: agent.user, agent: agent.agent };
      if (changes === seen) {
        if (remembered.size >= maxRemembered) remembered.delete(remembered.keys().next().value!);
        const expiresAt = rows[0]!.expires_at === null ? null : Number(rows[0]!.expires_at);
        remembered.set(grantId, { ...binding, expiresAt });
      }
      return binding;
    },
    async secret(name) {
      await query(`INSERT INTO ${s}.secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
        name,
        randomBytes(32).toString('base64url'),
      ]);
      // A separate statement: it sees the row of whichever replica inserted first.
      const rows = await query<{ value: string }>(`SELECT value FROM ${s}.secrets WHERE name = $1`, [name]);
      return rows[0]!.value;
    },
    async sweep() {
      const rows = await query<{ n: number }>(
        `WITH gone AS (DELETE FROM ${s}.records WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [now()],
      );
      return rows[0]?.n ?? 0;
    },
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}
