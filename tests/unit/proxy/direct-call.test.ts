// The direct lanes' fast accept (lib/mcp-plain-result.ts; the front's proxy/gateway/direct-call.ts and the
// upstream proxy/upstreams/direct-request.ts) takes only results the era's own CallToolResult schema
// accepts unchanged; everything else must go to that schema. Checked against the front Server's codec and
// against the Client's codecs of both eras (the 2026-era one decodes a `resultType: 'complete'` result).
import { Client } from '@modelcontextprotocol/client';
import { Server } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { isPlainTextResult } from '../../../lib/mcp-plain-result.ts';

type Validation = { ok: boolean; value?: unknown };
const codec = (
  new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } }) as unknown as {
    _wireCodec(): { validateResult(method: string, raw: unknown): Validation };
  }
)._wireCodec();

type Decoded = { kind: string; result?: unknown };
function clientCodec(version: string): { decodeResult(method: string, raw: unknown): Decoded } {
  const client = new Client({ name: 't', version: '1' }) as unknown as {
    _negotiatedProtocolVersion?: string;
    _resolveOutboundCodec(method: string): { decodeResult(method: string, raw: unknown): Decoded };
  };
  client._negotiatedProtocolVersion = version;
  return client._resolveOutboundCodec('tools/call');
}

const plain = [
  { content: [] },
  { content: [{ type: 'text', text: 'hi' }] },
  {
    content: [
      { type: 'text', text: 'a' },
      { type: 'text', text: '' },
    ],
    isError: true,
  },
  { content: [{ type: 'text', text: 'x' }], structuredContent: { n: 1, deep: { list: [1, 2] } } },
  { content: [], _meta: { a: 1 } },
  {
    content: [{ type: 'text', text: 'hi' }],
    _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'c', version: '1' } },
  },
];
const notPlain = [
  { content: [{ type: 'text', text: 'hi', annotations: { priority: 1 } }] },
  { content: [{ type: 'text', text: 'hi', extra: 1 }] },
  { content: [{ type: 'image', data: 'AA==', mimeType: 'image/png' }] },
  { content: [{ type: 'text', text: 1 }] },
  { content: 'not a list' },
  { content: [], _meta: 'x' },
  { content: [], _meta: { progressToken: 1 } },
  { content: [], _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } },
  { content: [], isError: 'yes' },
  { content: [], structuredContent: [1] },
  { content: [], unknown: true },
  {},
];

describe('the direct lane fast accept', () => {
  it('accepts only results the era schema accepts and returns unchanged', () => {
    for (const result of plain) {
      expect(isPlainTextResult(result)).toBe(true);
      const checked = codec.validateResult('tools/call', result);
      expect(checked.ok).toBe(true);
      expect(checked.value).toEqual(result);
    }
  });

  it("accepts only results the Client's codecs of both eras decode unchanged", () => {
    const legacy = clientCodec('2025-11-25');
    const modern = clientCodec('2026-07-28');
    for (const result of plain) {
      expect(legacy.decodeResult('tools/call', result)).toEqual({ kind: 'complete', result });
      expect(modern.decodeResult('tools/call', { ...result, resultType: 'complete' })).toEqual({
        kind: 'complete',
        result,
      });
    }
  });

  it('leaves every other result to the schema', () => {
    for (const result of notPlain) expect(isPlainTextResult(result)).toBe(false);
  });
});
