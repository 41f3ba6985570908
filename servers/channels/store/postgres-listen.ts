// The LISTEN side of cross-replica delivery: the schema's append channel (lib/postgres/listen.ts keeps the connection)
// turned into wake-ups for the store's watchers. It must not query the store's tables.
import type pg from 'pg';
import type { Logger } from '../../../lib/log.ts';
import { listen } from '../../../lib/postgres/listen.ts';
import { appendChannelOf } from './postgres-schema.ts';
import type { AppendWatcher } from './types.ts';

export interface AppendFeed {
  watch(listener: AppendWatcher): () => void;
  /** Resolves once the first LISTEN is in place (appends before that are not reported). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function createAppendFeed(options: {
  connection: pg.ClientConfig;
  schema: string;
  logger: Logger;
}): AppendFeed {
  const listeners = new Set<AppendWatcher>();
  const each = (fn: (listener: AppendWatcher) => void): void => {
    for (const listener of listeners) {
      try {
        fn(listener);
      } catch (error) {
        options.logger.warn({ err: error }, 'append listener failed');
      }
    }
  };
  const listener = listen({
    connection: options.connection,
    channel: appendChannelOf(options.schema),
    logger: options.logger,
    // "<channel id> <new head seq>"
    onNotification(payload) {
      const space = payload.lastIndexOf(' ');
      const seq = Number(payload.slice(space + 1));
      if (space > 0 && Number.isInteger(seq)) each((l) => l.appended(payload.slice(0, space), seq));
    },
    onResync: () => each((l) => l.resync()),
  });
  return {
    ready: listener.ready,
    watch(watcher) {
      listeners.add(watcher);
      return () => listeners.delete(watcher);
    },
    close: () => listener.close(),
  };
}
