// Tolerance toward a 2026-07-28 child that omits a result's `resultType` (the revision requires it):
// such a result is read as `complete`, as the official conformance client reads it, so a call that works
// against the child directly works through the proxy too. The first time a connection needs it, a
// warning names the child. It must not touch anything else in a result.
import type { JSONRPCResponse } from '@modelcontextprotocol/client';
import { isPlainObject } from '../../lib/mcp-direct-post.ts';

/** `response` with `resultType: 'complete'` added to a result that lacks one; `onBridged` runs if so. */
export function bridgeResultType<T extends JSONRPCResponse>(response: T, onBridged: () => void): T {
  const result = (response as { result?: unknown }).result;
  if (!isPlainObject(result) || 'resultType' in result) return response;
  onBridged();
  return { ...response, result: { ...result, resultType: 'complete' } };
}
