// The authorization server's state in SQLite (node:sqlite, WAL, one connection), for one proxy: every oidc-provider
// model as JSON rows (store.ts says which are hashed), the agent each grant acts as, and the server's cookie keys.
// A restart keeps every grant. It must not decide anything about OAuth: oidc-provider does; this only keeps it.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { recordsOf, sha256, type AdapterPayload, type ModelAdapter, type OAuthStore } from './store.ts';

const migrations: string[] = [
  `CREATE TABLE oauth_records (
     model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, uid TEXT, user_code TEXT,
     expires_at INTEGER, agent TEXT, PRIMARY KEY (model, id)) WITHOUT ROWID;
   CREATE INDEX oauth_records_grant ON oauth_records(grant_id) WHERE grant_id IS NOT NULL;
   CREATE INDEX oauth_records_uid ON oauth_records(model, uid) WHERE uid IS NOT NULL;
   CREATE INDEX oauth_records_expiry ON oauth_records(expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE oauth_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

/** oidc-provider wants promises; node:sqlite is synchronous. A throw becomes a rejection. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export function openSqliteOAuthStore(options: { file: string; now?: () => number }): OAuthStore {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const db = new DatabaseSync(options.file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrate(db);
  const now = options.now ?? Date.now;
  const statements = new Map<string, StatementSync>();
  const q = (sql: string): StatementSync => {
    let stmt = statements.get(sql);
    if (stmt === undefined) statements.set(sql, (stmt = db.prepare(sql)));
    return stmt;
  };
  const live = 'AND (expires_at IS NULL OR expires_at > ?)';

  function adapterFor(model: string): ModelAdapter {
    const { key, row, read: withId } = recordsOf(model, now);
    const read = (found: unknown, id: string | undefined): AdapterPayload | undefined =>
      found === undefined
        ? undefined
        : withId(JSON.parse((found as { payload: string }).payload) as AdapterPayload, id);
    return {
      upsert(id, payload, expiresIn) {
        return settle(() => {
          q(
            `INSERT INTO oauth_records (model, id, payload, grant_id, uid, user_code, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
          ).run(...row(id, payload, expiresIn));
        });
      },
      find(id) {
        return settle(() => {
          return read(
            q(`SELECT payload FROM oauth_records WHERE model = ? AND id = ? ${live}`).get(
              model,
              key(id),
              now(),
            ),
            id,
          );
        });
      },
      findByUid(uid) {
        return settle(() => {
          return read(
            q(`SELECT payload FROM oauth_records WHERE model = ? AND uid = ? ${live}`).get(model, uid, now()),
            undefined,
          );
        });
      },
      findByUserCode(userCode) {
        return settle(() => {
          return read(
            q(`SELECT payload FROM oauth_records WHERE model = ? AND user_code = ? ${live}`).get(
              model,
              sha256(userCode),
              now(),
            ),
            undefined,
          );
        });
      },
      consume(id) {
        return settle(() => {
          q(
            `UPDATE oauth_records SET payload = json_set(payload, '$.consumed', ?) WHERE model = ? AND id = ?`,
          ).run(Math.floor(now() / 1000), model, key(id));
        });
      },
      destroy(id) {
        return settle(() => {
          q('DELETE FROM oauth_records WHERE model = ? AND id = ?').run(model, key(id));
        });
      },
      revokeByGrantId(grantId) {
        return settle(() => {
          q('DELETE FROM oauth_records WHERE model = ? AND grant_id = ?').run(model, grantId);
        });
      },
    };
  }

  return {
    adapterFor,
    setGrantAgent(grantId, user, agent) {
      return settle(() => {
        q(`UPDATE oauth_records SET agent = ? WHERE model = 'Grant' AND id = ?`).run(
          JSON.stringify({ user, agent }),
          grantId,
        );
      });
    },
    grantAgent(grantId) {
      return settle(() => {
        const row = q(`SELECT agent FROM oauth_records WHERE model = 'Grant' AND id = ? ${live}`).get(
          grantId,
          now(),
        ) as { agent: string | null } | undefined;
        if (row?.agent == null) return undefined;
        return JSON.parse(row.agent) as { user: string; agent: string };
      });
    },
    secret(name) {
      return settle(() => {
        const row = q('SELECT value FROM oauth_secrets WHERE name = ?').get(name) as
          { value: string } | undefined;
        if (row !== undefined) return row.value;
        const value = randomBytes(32).toString('base64url');
        q('INSERT OR IGNORE INTO oauth_secrets (name, value) VALUES (?, ?)').run(name, value);
        return (q('SELECT value FROM oauth_secrets WHERE name = ?').get(name) as { value: string }).value;
      });
    },
    sweep() {
      return settle(() =>
        Number(
          q('DELETE FROM oauth_records WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now()).changes,
        ),
      );
    },
    close() {
      return settle(() => db.close());
    },
  };
}

function migrate(db: DatabaseSync): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS oauth_migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const row = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM oauth_migrations').get() as { id: number };
  for (let id = row.id + 1; id <= migrations.length; id += 1) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migrations[id - 1]!);
      db.prepare('INSERT INTO oauth_migrations (id, applied_at) VALUES (?, ?)').run(id, Date.now());
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}
