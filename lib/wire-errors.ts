// The one mapping of local errors (McpcpError codes) to wire errors: an HTTP status, a JSON-RPC error code and a
// generic message, for the proxy and the first-party servers alike. Details never reach the wire; they go to the
// log. Foreign errors (the SDK's, a socket's) are first turned into a local code where they arise (e.g.
// proxy/errors-to-wire.ts for upstream calls). It must not decide policy, read requests or build responses.
import { isMcpcpError, type ErrorCode } from './errors.ts';

/**
 * JSON-RPC 2.0 error codes on the wire: the spec's (the SDK's ProtocolErrorCode has the same numbers, checked by
 * tests/unit/lib/wire-errors.test.ts) and the two implementation-defined ones the MCP SDKs use.
 */
export const rpcCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Implementation-defined server error (the MCP SDKs use it for transport-level refusals). */
  serverError: -32000,
  /** The MCP SDKs' request-timeout code. */
  requestTimeout: -32001,
  /** What the MCP SDKs' transports answer an unknown session with (the same number). */
  sessionNotFound: -32001,
  /** 2026-07-28: `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` headers that disagree with the body. */
  headerMismatch: -32020,
} as const;

export interface WireError {
  /** HTTP status when the error ends the HTTP exchange. */
  status: number;
  /** JSON-RPC error code when the error answers a JSON-RPC request. */
  rpcCode: number;
  /** Generic, stable message safe to show any caller. */
  message: string;
  /** True when the error is ours (a bug or an unexpected failure) and must be logged loudly. */
  internal: boolean;
  /**
   * The local code, when the caller may see it: a token refusal (ERR_TOKEN_*) names its reason exactly as
   * `mcpcp token verify` does, so an operator can match the two. Never set for other errors.
   */
  code?: ErrorCode;
}

const tokenErrorMessages: Partial<Record<ErrorCode, string>> = {
  ERR_TOKEN_MISSING: 'Authorization required',
  ERR_TOKEN_EXPIRED: 'The access token expired',
  ERR_TOKEN_NOT_YET_VALID: 'The access token is not yet valid',
};

const table: Partial<Record<ErrorCode, Omit<WireError, 'internal'>>> = {
  ERR_FORBIDDEN: { status: 403, rpcCode: rpcCodes.serverError, message: 'Forbidden' },
  ERR_JWKS_FETCH: { status: 503, rpcCode: rpcCodes.serverError, message: 'Token keys unavailable' },
  // A denied name answers exactly like an unknown one (ARCHITECTURE.md decision 7).
  ERR_UNKNOWN_NAME: { status: 200, rpcCode: rpcCodes.invalidParams, message: 'Unknown name' },
  ERR_POLICY_DENIED: { status: 200, rpcCode: rpcCodes.invalidParams, message: 'Unknown name' },
  ERR_POLICY_ARGUMENTS: { status: 200, rpcCode: rpcCodes.invalidParams, message: 'Arguments not allowed' },
  ERR_RATE_LIMITED: {
    status: 429,
    rpcCode: rpcCodes.serverError,
    message: 'Rate limit exceeded; retry later',
  },
  // A child that is down, went away mid-call, or did not answer in time: the call fails, the caller may retry.
  ERR_UPSTREAM_UNAVAILABLE: { status: 503, rpcCode: rpcCodes.internalError, message: 'Server unavailable' },
  ERR_UPSTREAM_CLOSED: { status: 502, rpcCode: rpcCodes.internalError, message: 'Server connection closed' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, rpcCode: rpcCodes.requestTimeout, message: 'Request timed out' },
  ERR_UPSTREAM_BAD_RESULT: {
    status: 502,
    rpcCode: rpcCodes.internalError,
    message: 'Server answered unreadably',
  },
  ERR_INVALID_ARGUMENT: { status: 400, rpcCode: rpcCodes.invalidParams, message: 'Invalid argument' },
  ERR_NOT_FOUND: { status: 404, rpcCode: rpcCodes.serverError, message: 'Not found' },
  ERR_CONFLICT: { status: 409, rpcCode: rpcCodes.serverError, message: 'Conflict' },
  ERR_LIMIT: { status: 413, rpcCode: rpcCodes.serverError, message: 'Limit exceeded' },
};

const internalError: WireError = {
  status: 500,
  rpcCode: rpcCodes.internalError,
  message: 'Internal error',
  internal: true,
};

/** True for the ERR_TOKEN_* family: the caller must re-authenticate (HTTP 401). */
export function isTokenErrorCode(code: ErrorCode): boolean {
  return code.startsWith('ERR_TOKEN_');
}

/** Maps any thrown value to its wire form. Unknown errors become a logged internal error, never a 400. */
export function toWireError(error: unknown): WireError {
  if (!isMcpcpError(error)) return internalError;
  if (isTokenErrorCode(error.code)) {
    return {
      status: 401,
      rpcCode: rpcCodes.serverError,
      message: tokenErrorMessages[error.code] ?? 'The access token is invalid',
      internal: false,
      code: error.code,
    };
  }
  const entry = table[error.code];
  return entry === undefined ? internalError : { ...entry, internal: false };
}
