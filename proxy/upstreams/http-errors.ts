// What a Streamable HTTP child's failures mean for the connection: a forgotten session, a stale
// (closed or replaced) client, a network failure. Pure predicates over thrown errors, by the SDK's error codes
// and HTTP statuses and by socket error codes, never by message text; no I/O.
import { SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';

/** True for the error a Streamable HTTP client raises when the child forgot our session (HTTP 404). */
export function isSessionExpired(error: unknown): boolean {
  if (error instanceof SdkHttpError) return error.status === 404;
  return (error as { status?: unknown } | null)?.status === 404;
}

/**
 * A connection that cannot have delivered the request: the child forgot the session (404) or the
 * client was already closed (replaced after a restart). Retrying on a fresh connection is safe.
 * `client`: the connection's client. The SDK refuses a request on a closed client before sending it with a plain
 * Error (no SdkError code), so such an error on a client without a transport is that case; an SdkError (a
 * connection closed mid-request, which may have been delivered) never is.
 */
export function isStaleConnection(error: unknown, client?: { readonly transport?: unknown }): boolean {
  if (isSessionExpired(error)) return true;
  if (error instanceof SdkError) return error.code === SdkErrorCode.NotConnected;
  const plain = error instanceof Error && Object.getPrototypeOf(error) === Error.prototype;
  return plain && client !== undefined && client.transport === undefined;
}

/** Socket errors that mean the child cannot be reached (refused, reset, gone), undici's included. */
const networkCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function codeOf(value: unknown): unknown {
  return (value as { code?: unknown } | null | undefined)?.code;
}

/**
 * A network-level failure (refused, reset, hung up): fetch (and the proxy's loopback fetch) reject with a
 * TypeError whose cause is the socket error; the code of that cause (or of the error itself) decides.
 */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = codeOf(error.cause) ?? codeOf(error);
  return typeof code === 'string' && networkCodes.has(code);
}
