// Chooses the channel store from its address: `sqlite` (the default: DATA_DIR/channels.sqlite, one process) or
// `postgres://…` (replicas sharing one database). The address comes from the `--store` flag or DATABASE_URL; this
// module only interprets it and must not read the environment itself.
import { join } from 'node:path';
import { McpcpError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import { isPostgresUrl } from '../../../lib/postgres/address.ts';
import { createSqliteChannelStore } from './sqlite.ts';
import type { ChannelStore } from './types.ts';

export interface StoreAddressSources {
  /** The `--store` flag. */
  flag: string | undefined;
  /** DATABASE_URL, used when no flag is given. */
  databaseUrl: string | undefined;
}

/** The address in force and where it came from (errors name the source). */
export function storeAddress(sources: StoreAddressSources): { address: string; source: string } {
  if (sources.flag !== undefined) return { address: sources.flag, source: '--store' };
  if (sources.databaseUrl !== undefined && sources.databaseUrl !== '') {
    return { address: sources.databaseUrl, source: 'DATABASE_URL' };
  }
  return { address: 'sqlite', source: 'default' };
}

export async function openChannelStore(
  sources: StoreAddressSources,
  options: { dataDir: string; logger: Logger },
): Promise<ChannelStore> {
  const { address, source } = storeAddress(sources);
  if (address === 'sqlite')
    return createSqliteChannelStore({ file: join(options.dataDir, 'channels.sqlite') });
  if (isPostgresUrl(address)) {
    // Loaded only when asked for: the embedded default never loads the driver.
    const { createPostgresChannelStore } = await import('./postgres.ts');
    return createPostgresChannelStore({ url: address, logger: options.logger });
  }
  throw new McpcpError(
    'ERR_CONFIG_INVALID',
    `${source} must be "sqlite" or a postgres:// URL (got ${JSON.stringify(address.split(':')[0])}…)`,
  );
}
