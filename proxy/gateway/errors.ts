// Wire errors the gateway answers with. A hidden name and an unknown name get the very same error.
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError } from '@modelcontextprotocol/server';
import { isMcpcpError } from '../../lib/errors.ts';
import type { CallEvent } from './index.ts';

export function notFound(kind: 'tool' | 'prompt' | 'resource', name: string): ProtocolError {
  if (kind === 'resource') return new ResourceNotFoundError(name);
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `${kind === 'tool' ? 'Tool' : 'Prompt'} ${name} not found`,
  );
}

/** A JSON-RPC error answered before any MCP handling (no request id could be echoed). */
export function wireError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });
}

/** The code the MCP SDKs have long used for a request timeout. */
export const requestTimeoutCode = -32001;

export interface MappedError {
  error: Error;
  outcome: CallEvent['outcome'];
}

/** Maps what an upstream call threw to the error the agent sees and the audit outcome. */
export function mapUpstreamError(error: unknown, server: string, timeoutMs: number): MappedError {
  if (isMcpcpError(error, 'ERR_UPSTREAM_UNAVAILABLE')) {
    return {
      error: new ProtocolError(ProtocolErrorCode.InternalError, `Server ${server} is unavailable`),
      outcome: 'unavailable',
    };
  }
  if (error instanceof ProtocolError) return { error, outcome: 'error' };
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'REQUEST_TIMEOUT') {
    return {
      error: new ProtocolError(
        requestTimeoutCode,
        `Request to server ${server} timed out after ${timeoutMs} ms`,
      ),
      outcome: 'timeout',
    };
  }
  if (code === 'CONNECTION_CLOSED' || code === 'NOT_CONNECTED' || code === 'SEND_FAILED') {
    return {
      error: new ProtocolError(
        ProtocolErrorCode.InternalError,
        `Server ${server} closed the connection before answering`,
      ),
      outcome: 'unavailable',
    };
  }
  // An HTTP child that went away before the health check noticed: the request could not be sent at all.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return {
      error: new ProtocolError(
        ProtocolErrorCode.InternalError,
        `Server ${server} is unavailable (the connection to it failed)`,
      ),
      outcome: 'unavailable',
    };
  }
  // A child's answer the proxy could not read (a result its own revision forbids, an undecodable body):
  // say which child and why, so the agent (and its operator) need not dig in the proxy's log.
  if (code === 'INVALID_RESULT' || code === 'UNSUPPORTED_RESULT_TYPE' || error instanceof SyntaxError) {
    const cause = error instanceof Error ? error.message : String(error);
    return {
      error: new ProtocolError(
        ProtocolErrorCode.InternalError,
        `Server ${server} answered with a result the proxy cannot pass on: ${cause}`,
        { server, cause },
      ),
      outcome: 'error',
    };
  }
  return {
    error: new ProtocolError(
      ProtocolErrorCode.InternalError,
      `Internal error while calling server ${server}`,
      {
        server,
      },
    ),
    outcome: 'error',
  };
}
