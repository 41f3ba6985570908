// Which store the channels server opens: --store wins, then DATABASE_URL, then SQLite in the data folder; anything
// else is a configuration error that names its source, and the server process exits 2 with one line saying so.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRuntimeEnv } from '../../../lib/env.ts';
import { openChannelStore, storeAddress } from '../../../servers/channels/store/open.ts';
import { createSilentLogger } from '../../../lib/log.ts';

describe('choosing the channel store', () => {
  it('takes --store first, then DATABASE_URL (read through lib/env.ts), then SQLite', () => {
    const databaseUrl = readRuntimeEnv({ DATABASE_URL: 'postgres://u@db/x' }).databaseUrl;
    expect(storeAddress({ flag: 'sqlite', databaseUrl })).toEqual({ address: 'sqlite', source: '--store' });
    expect(storeAddress({ flag: undefined, databaseUrl })).toEqual({
      address: 'postgres://u@db/x',
      source: 'DATABASE_URL',
    });
    expect(storeAddress({ flag: undefined, databaseUrl: undefined })).toEqual({
      address: 'sqlite',
      source: 'default',
    });
  });

  it('opens SQLite in the data folder by default and refuses an unknown kind, naming where it came from', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-open-'));
    try {
      const logger = createSilentLogger();
      const store = await openChannelStore(
        { flag: undefined, databaseUrl: undefined },
        { dataDir: dir, logger },
      );
      expect(await store.head('none')).toEqual({ seq: 0, hash: '0'.repeat(64) });
      await store.close();
      await expect(
        openChannelStore({ flag: undefined, databaseUrl: 'mysql://u:secret@db/x' }, { dataDir: dir, logger }),
      ).rejects.toMatchObject({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(/^DATABASE_URL/),
      });
      await expect(
        openChannelStore({ flag: 'mysql://u:secret@db/x', databaseUrl: undefined }, { dataDir: dir, logger }),
      ).rejects.not.toThrow(/secret/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with one line when started with a bad --store', () => {
    const run = spawnSync(
      process.execPath,
      [
        'servers/channels/main.ts',
        '--agent',
        'a',
        '--store',
        'redis://x',
        '--data-dir',
        join(tmpdir(), 'unused'),
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--store must be "sqlite" or a postgres:\/\/ URL/);
  });
});
