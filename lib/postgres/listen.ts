// One LISTEN channel on a dedicated connection (never from a pool, which hands connections around), reconnecting with
// backoff. Notifications sent while it was away are gone, so after a reconnect it reports a resync and the owner must
// re-read whatever it keeps in step. It must not query anything else.
import pg from 'pg';
import type { Logger } from '../log.ts';

export interface Listener {
  /** Resolves once the first LISTEN is in place (notifications before that are not reported). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface ListenOptions {
  connection: pg.ClientConfig;
  /** The NOTIFY channel (a plain identifier). */
  channel: string;
  logger: Logger;
  /** A notification's payload. */
  onNotification(payload: string): void;
  /** Called after a reconnect: notifications may have been missed. */
  onResync(): void;
}

export function listen(options: ListenOptions): Listener {
  const { logger, channel } = options;
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const guarded = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      logger.warn({ err: error, channel }, `${what} failed`);
    }
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client(options.connection);
    client = next;
    next.on('notification', (message) => {
      guarded('notification handler', () => options.onNotification(message.payload ?? ''));
    });
    next.on('error', (error) => {
      logger.warn({ err: error, channel }, 'LISTEN connection failed');
      retry(next);
    });
    next.on('end', () => retry(next));
    try {
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
    } catch (error) {
      logger.warn({ err: error, channel }, 'could not LISTEN');
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
    if (reconnected) guarded('resync handler', () => options.onResync());
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
