// A 2026-era child's list changes arrive only on a subscriptions/listen stream: this holds one open on a
// connection for the kinds the child says change. A stream that cannot open, or that the child ends, is
// opened again with backoff (a warning says so, once per outage); once it is open again `reopened` runs,
// so the catalog is re-read and a change made while it was down still reaches the agents. It stops when
// the connection is no longer `current`. It must not decide what a change means; the hooks do.
import type { Logger } from '../../lib/log.ts';
import type { UpstreamConnection } from './types.ts';

/** Backoff of the retries: doubling from this, up to the max. */
const backoffMs = 500;
const maxBackoffMs = 30_000;

export interface ListStreamOptions {
  /** Whether the connection is still the one to listen on (not closed, not replaced). */
  current(): boolean;
  /** How long the child may take to acknowledge the stream. */
  timeoutMs: number;
  logger: Logger;
  /** The stream is open again after a failure or an end: re-read what may have changed meanwhile. */
  reopened(): void;
}

export function watchListChanges(conn: UpstreamConnection, o: ListStreamOptions, attempt = 0): void {
  const caps = conn.client.getServerCapabilities();
  const filter = {
    ...(caps?.tools?.listChanged ? { toolsListChanged: true } : {}),
    ...(caps?.prompts?.listChanged ? { promptsListChanged: true } : {}),
    ...(caps?.resources?.listChanged ? { resourcesListChanged: true } : {}),
  };
  if (Object.keys(filter).length === 0) return;
  const again = (next: number): void => {
    const timer = setTimeout(
      () => {
        if (o.current()) watchListChanges(conn, o, next);
      },
      Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, next - 1)),
    );
    timer.unref();
  };
  conn.client
    .listen(filter, { timeout: o.timeoutMs })
    .then(async (subscription) => {
      if (attempt > 0) {
        o.logger.info('list-change stream open again; re-reading the catalog');
        o.reopened();
      }
      const reason = await subscription.closed;
      if (reason === 'local' || !o.current()) return;
      again(1);
    })
    .catch((error: unknown) => {
      if (!o.current()) return;
      if (attempt === 0) {
        o.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          "the child's list-change stream did not open: retrying with backoff (its list changes wait until it opens)",
        );
      }
      again(attempt + 1);
    });
}
