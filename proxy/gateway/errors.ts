// Wire errors the gateway answers with. A hidden name and an unknown name get the very same error; the
// mapping of local codes to the wire is lib/wire-errors.ts's (the one seam), upstream failures
// proxy/errors-to-wire.ts's.
import { ProtocolError, ResourceNotFoundError } from '@modelcontextprotocol/server';
import { jsonRpcErrorResponse } from '../edge/jsonrpc.ts';
import { McpcpError } from '../../lib/errors.ts';
import { toWireError } from '../../lib/wire-errors.ts';

export function notFound(kind: 'tool' | 'prompt' | 'resource', name: string): ProtocolError {
  if (kind === 'resource') return new ResourceNotFoundError(name);
  const wire = toWireError(new McpcpError('ERR_UNKNOWN_NAME', `${kind} ${name} not found`));
  return new ProtocolError(wire.rpcCode, `${kind === 'tool' ? 'Tool' : 'Prompt'} ${name} not found`);
}

/** A JSON-RPC error answered before any MCP handling (no request id could be echoed). */
export function wireError(status: number, code: number, message: string): Response {
  return jsonRpcErrorResponse(status, code, message);
}
