// How the PostgreSQL channel store names failures: driver errors become ERR_STORE_UNAVAILABLE (never leaking the
// address), a failed write guard (`guard()` in postgres-schema.ts) becomes ERR_CONFLICT naming what moved. It must
// not run queries.
import { McpcpError } from '../../../lib/errors.ts';
import { unavailable } from '../../../lib/postgres/address.ts';

export const guardFailed = 'MC001';
export const uniqueViolation = '23505';

/** Driver failures become ERR_STORE_UNAVAILABLE; our own errors pass through. */
export function storeError(error: unknown): Error {
  if (error instanceof McpcpError) return error;
  if ((error as { code?: unknown }).code === guardFailed) {
    // The guard names what moved: 'head' (another writer appended first; retry on the new head) or 'bot'.
    const guard = /guard failed: (\w+)/.exec((error as Error).message)?.[1] ?? 'unknown';
    return new McpcpError('ERR_CONFLICT', `the channel changed concurrently (${guard})`, {
      cause: error,
      details: { guard },
    });
  }
  return unavailable(error, 'channel store query failed');
}
