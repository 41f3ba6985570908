// Runs the shared ChannelStore contract suite against the SQLite implementation (a temp folder per test).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import { runChannelStoreSuite } from './store-suite.ts';

runChannelStoreSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-store-'));
  const file = join(dir, 'channels.sqlite');
  let store = createSqliteChannelStore({ file });
  return {
    store,
    async reopen() {
      await store.close();
      store = createSqliteChannelStore({ file });
      return store;
    },
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
