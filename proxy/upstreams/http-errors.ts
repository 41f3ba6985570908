// What a Streamable HTTP child's failures mean for the connection: a forgotten session, a stale
// (closed or replaced) client, a network failure. Pure predicates over thrown errors; no I/O.

/** True for the error a Streamable HTTP client raises when the child forgot our session. */
export function isSessionExpired(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  if (status === 404) return true;
  return error instanceof Error && /\b404\b/.test(error.message);
}

/**
 * A connection that cannot have delivered the request: the child forgot the session (404) or the
 * client was already closed (replaced after a restart). Retrying on a fresh connection is safe.
 */
export function isStaleConnection(error: unknown): boolean {
  if (isSessionExpired(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'NOT_CONNECTED' || (error instanceof Error && error.message === 'Not connected');
}

/** A network-level failure (refused, reset, hung up): liveness should be re-checked. */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const cause = (error as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? cause.message : '';
  return /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up/i.test(`${error.message} ${causeText}`);
}
