// The proxy's side of the one error seam (lib/wire-errors.ts maps local codes to the wire): what an upstream call
// threw becomes a local code first (the SDK's failures by their SdkErrorCode constants, a refused or reset
// connection by its socket error code, never by message text), then the wire error the agent sees and the audit
// outcome. It must not decide policy or read requests.
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { McpcpError, isMcpcpError, type ErrorCode } from '../lib/errors.ts';
import { toWireError } from '../lib/wire-errors.ts';
import { isNetworkFailure } from './upstreams/http-errors.ts';

export { isTokenErrorCode, rpcCodes, toWireError, type WireError } from '../lib/wire-errors.ts';

export type UpstreamOutcome = 'unavailable' | 'timeout' | 'error';

/** SDK failures that mean the connection to the child ended before the call was answered. */
const closedCodes: ReadonlySet<string> = new Set([
  SdkErrorCode.ConnectionClosed,
  SdkErrorCode.NotConnected,
  SdkErrorCode.SendFailed,
]);

/** SDK failures that mean the child answered, with something its own revision forbids. */
const badResultCodes: ReadonlySet<string> = new Set([
  SdkErrorCode.InvalidResult,
  SdkErrorCode.UnsupportedResultType,
]);

/** The local code of what an upstream call threw, or undefined when it is not an upstream failure we know. */
export function upstreamCodeOf(error: unknown): ErrorCode | undefined {
  if (isMcpcpError(error)) return error.code;
  if (error instanceof SdkError) {
    if (error.code === SdkErrorCode.RequestTimeout) return 'ERR_UPSTREAM_TIMEOUT';
    if (closedCodes.has(error.code)) return 'ERR_UPSTREAM_CLOSED';
    if (badResultCodes.has(error.code)) return 'ERR_UPSTREAM_BAD_RESULT';
  }
  // A body that is not JSON where JSON was promised.
  if (error instanceof SyntaxError) return 'ERR_UPSTREAM_BAD_RESULT';
  // An HTTP child that went away before the health check noticed: the request could not be sent at all.
  if (isNetworkFailure(error)) return 'ERR_UPSTREAM_UNAVAILABLE';
  return undefined;
}

const messages: Partial<Record<ErrorCode, (server: string, timeoutMs: number) => string>> = {
  ERR_UPSTREAM_UNAVAILABLE: (server) => `Server ${server} is unavailable`,
  ERR_UPSTREAM_CLOSED: (server) => `Server ${server} closed the connection before answering`,
  ERR_UPSTREAM_TIMEOUT: (server, ms) => `Request to server ${server} timed out after ${ms} ms`,
  ERR_UPSTREAM_BAD_RESULT: (server) => `Server ${server} answered with a result the proxy cannot pass on`,
};

const outcomes: Partial<Record<ErrorCode, UpstreamOutcome>> = {
  ERR_UPSTREAM_UNAVAILABLE: 'unavailable',
  ERR_UPSTREAM_CLOSED: 'unavailable',
  ERR_UPSTREAM_TIMEOUT: 'timeout',
};

export interface UpstreamFailure {
  /** What the agent gets: a JSON-RPC error naming the server, never the child's internals. */
  error: ProtocolError;
  outcome: UpstreamOutcome;
  /** True when nothing above explains the failure: a bug or a surprise worth logging loudly. */
  unexpected: boolean;
}

/** Maps what an upstream call threw to the error the agent sees and the audit outcome. */
export function upstreamFailure(error: unknown, server: string, timeoutMs: number): UpstreamFailure {
  // The child's own JSON-RPC error passes through as it is.
  if (error instanceof ProtocolError) return { error, outcome: 'error', unexpected: false };
  const code = upstreamCodeOf(error);
  const wire = toWireError(code === undefined ? error : new McpcpError(code, 'upstream call failed'));
  const message = code === undefined ? undefined : messages[code]?.(server, timeoutMs);
  // The data names the child, and the cause where it helps the agent's operator (a result the child got wrong);
  // an unexpected failure's own text stays in the proxy's log.
  const cause = code === 'ERR_UPSTREAM_BAD_RESULT' && error instanceof Error ? error.message : undefined;
  return {
    error: new ProtocolError(
      wire.rpcCode,
      cause === undefined ? (message ?? wire.message) : `${message}: ${cause}`,
      cause === undefined ? { server } : { server, cause },
    ),
    outcome: (code === undefined ? undefined : outcomes[code]) ?? 'error',
    unexpected: wire.internal,
  };
}
