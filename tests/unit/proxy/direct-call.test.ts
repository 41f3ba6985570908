// The direct lane's fast accept (proxy/gateway/direct-call.ts) takes only results the era's own
// CallToolResult schema accepts unchanged; everything else must go to that schema.
import { Server } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { isPlainTextResult } from '../../../proxy/gateway/direct-call.ts';

type Validation = { ok: boolean; value?: unknown };
const codec = (
  new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } }) as unknown as {
    _wireCodec(): { validateResult(method: string, raw: unknown): Validation };
  }
)._wireCodec();

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

  it('leaves every other result to the schema', () => {
    for (const result of notPlain) expect(isPlainTextResult(result)).toBe(false);
  });
});
