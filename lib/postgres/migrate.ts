// Migrations of one PostgreSQL schema, recorded in `<schema>.migrations`. Replicas that start together serialise on a
// transaction-scoped advisory lock, so each migration runs exactly once. Each store owns its list; this only applies it.
import type pg from 'pg';

/**
 * Brings `schema` up to date with `migrations` (each one SQL text, `$s.` standing for the quoted schema; never edit a
 * released entry, append a new one). Returns the ids (1-based) this call applied.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  migrations: readonly string[],
): Promise<number[]> {
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
