// A first-party tool's answer: a value as structured content (and its JSON as text), or a failure as a result with
// isError and a stable error code (never a protocol error: a tool's own failure is a result). Unknown errors are
// logged and answered as ERR_INTERNAL with a generic message. It must not know any server's tools.
import type { CallToolResult } from '@modelcontextprotocol/server';
import { isMcpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';

export function toolOk(value: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: value,
  };
}

export function toolFail(error: unknown, log: Logger): CallToolResult {
  const known = isMcpcpError(error);
  if (!known) log.error({ err: error }, 'tool failed');
  const payload = {
    error: known
      ? { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }
      : { code: 'ERR_INTERNAL', message: 'internal error' },
  };
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(payload) }],
    structuredContent: payload,
  };
}

/** Runs a tool body: its value as toolOk, any failure as toolFail. */
export async function toolRun(log: Logger, body: () => unknown): Promise<CallToolResult> {
  try {
    return toolOk(await body());
  } catch (error) {
    return toolFail(error, log);
  }
}
