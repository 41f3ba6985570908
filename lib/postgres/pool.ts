// How a PostgreSQL store opens: a pool on its address (keep-alive, named for pg_stat_activity), its schema migrated
// before anything else runs, and a clear ERR_STORE_UNAVAILABLE naming the redacted address when it cannot.
import pg from 'pg';
import type { Logger } from '../log.ts';
import { unavailable, type PostgresAddress } from './address.ts';
import { migrate } from './migrate.ts';

export interface StorePool {
  pool: pg.Pool;
  /** The pool's connection settings, for a dedicated connection (LISTEN) beside it. */
  connection: pg.ClientConfig;
}

export async function openStorePool(options: {
  address: PostgresAddress;
  /** application_name, e.g. mcpcp-channels. */
  application: string;
  poolSize: number;
  migrations: readonly string[];
  logger: Logger;
  /** What the store is, for log lines and errors ("channel store"). */
  what: string;
}): Promise<StorePool> {
  const { address, logger } = options;
  const connection: pg.ClientConfig = {
    connectionString: address.connectionString,
    application_name: options.application,
    keepAlive: true,
  };
  const pool = new pg.Pool({ ...connection, max: options.poolSize });
  // An idle connection that dies must not take the process with it; the next query reconnects.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  try {
    const applied = await migrate(pool, address.schema, options.migrations);
    if (applied.length > 0) logger.info({ store: address.redacted, applied }, `${options.what} migrated`);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailable(error, `cannot open the ${options.what} at ${address.redacted}`);
  }
  return { pool, connection };
}
