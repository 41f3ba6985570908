// The LISTEN side of cross-replica delivery: one dedicated connection (never from the pool, which hands connections
// around) listening on the schema's append channel, reconnecting with backoff. After a reconnect it reports a
// resync, because notifications sent while it was away are gone. It must not query the store's tables.
import pg from 'pg';
import type { Logger } from '../../../lib/log.ts';
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
  const channel = appendChannelOf(options.schema);
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const each = (fn: (listener: AppendWatcher) => void): void => {
    for (const listener of listeners) {
      try {
        fn(listener);
      } catch (error) {
        options.logger.warn({ err: error }, 'append listener failed');
      }
    }
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client(options.connection);
    client = next;
    next.on('notification', (message) => {
      const payload = message.payload ?? '';
      const space = payload.lastIndexOf(' ');
      const seq = Number(payload.slice(space + 1));
      if (space > 0 && Number.isInteger(seq)) each((l) => l.appended(payload.slice(0, space), seq));
    });
    next.on('error', (error) => {
      options.logger.warn({ err: error }, 'append feed connection failed');
      retry(next);
    });
    next.on('end', () => retry(next));
    try {
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
    } catch (error) {
      options.logger.warn({ err: error }, 'append feed could not listen');
      retry(next);
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    const reconnected = attempt > 0;
    attempt = 0;
    markReady();
    if (reconnected) each((l) => l.resync());
  };

  function retry(failed: pg.Client): void {
    if (closed || client !== failed || timer !== undefined) return;
    client = undefined;
    failed.removeAllListeners('end');
    void failed.end().catch(() => undefined);
    attempt += 1;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
  }

  void connect();
  return {
    ready,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const current = client;
      client = undefined;
      current?.removeAllListeners('end');
      await current?.end().catch(() => undefined);
    },
  };
}
