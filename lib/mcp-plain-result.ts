// The subset of a CallToolResult that every era's schema returns unchanged, recognised without a schema
// parse: the proxy's two direct lanes (the front's, proxy/gateway/direct-call.ts, and the upstream one,
// proxy/upstreams/direct-request.ts) accept such a result at once and give every other result the SDK's
// full schema.
import { isPlainObject } from './mcp-direct-post.ts';

type Params = Record<string, unknown>;

const plainResultKeys = new Set(['content', 'structuredContent', 'isError', '_meta']);
/** `_meta` keys the result schema checks; any other key passes through it unchanged (a loose object). */
const checkedMetaKeys = ['progressToken', 'io.modelcontextprotocol/related-task'];

/**
 * Whether a result is in the subset of the era's CallToolResult schema whose parse returns it unchanged:
 * text blocks of exactly `type` and `text`, an object `structuredContent`, a boolean `isError`, a `_meta`
 * object without the keys the schema checks (a 2026-era child's serverInfo stamp, say), nothing else.
 * Every other result (images, annotations, progress or task `_meta`, unknown keys) gets the full schema.
 */
export function isPlainTextResult(result: Params): boolean {
  for (const key in result) if (!plainResultKeys.has(key)) return false;
  if (result.isError !== undefined && typeof result.isError !== 'boolean') return false;
  if (result.structuredContent !== undefined && !isPlainObject(result.structuredContent)) return false;
  const meta = result._meta;
  if (meta !== undefined && (!isPlainObject(meta) || checkedMetaKeys.some((key) => key in meta)))
    return false;
  const content = result.content;
  if (!Array.isArray(content)) return false;
  for (const block of content as unknown[]) {
    if (!isPlainObject(block) || block.type !== 'text' || typeof block.text !== 'string') return false;
    for (const key in block) if (key !== 'type' && key !== 'text') return false;
  }
  return true;
}
