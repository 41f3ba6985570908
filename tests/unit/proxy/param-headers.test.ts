// The proxy's check of 2026-era `Mcp-Param-*` headers (SEP-2243) against a call's arguments.
import { describe, expect, it } from 'vitest';
import { checkParamHeaders, paramHeaders } from '../../../proxy/gateway/param-headers.ts';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    count: { type: 'integer', 'x-mcp-header': 'Count' },
    dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
    nested: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
    plain: { type: 'string' },
  },
};
const headers = (values: Record<string, string>) => new Headers(values);
const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

describe('paramHeaders', () => {
  it('finds declarations reached through properties at any depth', () => {
    expect(paramHeaders(schema).map((d) => [d.path.join('.'), d.header])).toEqual([
      ['region', 'Region'],
      ['count', 'Count'],
      ['dry', 'Dry-Run'],
      ['nested.zone', 'Zone'],
    ]);
    expect(paramHeaders({ type: 'object', properties: { plain: { type: 'string' } } })).toEqual([]);
    expect(paramHeaders(undefined)).toEqual([]);
  });

  it('treats a schema that breaks the extension rules as declaring none', () => {
    const broken = [
      {
        type: 'object',
        properties: { a: { type: 'array', items: { type: 'string', 'x-mcp-header': 'A' } } },
      },
      { type: 'object', anyOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] },
      { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Not A Token' } } },
      { type: 'object', properties: { a: { type: 'object', 'x-mcp-header': 'A' } } },
      {
        type: 'object',
        properties: {
          a: { type: 'string', 'x-mcp-header': 'Same' },
          b: { type: 'string', 'x-mcp-header': 'same' },
        },
      },
      { type: 'object', 'x-mcp-header': 'Root' },
    ];
    for (const s of broken) expect(paramHeaders(s)).toEqual([]);
  });
});

describe('checkParamHeaders', () => {
  const declarations = paramHeaders(schema);

  it('accepts headers that mirror the arguments, plain or Base64', () => {
    const args = { region: 'eu-west', count: 42, dry: true, nested: { zone: ' nörd ' } };
    const sent = headers({
      'Mcp-Param-Region': 'eu-west',
      'Mcp-Param-Count': '42.0',
      'Mcp-Param-Dry-Run': 'true',
      'Mcp-Param-Zone': b64(' nörd '),
    });
    expect(checkParamHeaders(declarations, args, sent)).toBeUndefined();
  });

  it('expects no header for an absent or null argument, and ignores a header it did not expect', () => {
    expect(
      checkParamHeaders(declarations, { region: null }, headers({ 'Mcp-Param-Count': '1' })),
    ).toBeUndefined();
    expect(checkParamHeaders(declarations, undefined, headers({}))).toBeUndefined();
  });

  it('names the header that is missing, undecodable or different', () => {
    expect(checkParamHeaders(declarations, { region: 'eu' }, headers({}))).toEqual({
      header: 'Mcp-Param-Region',
      message: 'the body carries region="eu" but the Mcp-Param-Region header is absent',
    });
    expect(
      checkParamHeaders(declarations, { region: 'eu' }, headers({ 'Mcp-Param-Region': '=?base64?***?=' }))
        ?.message,
    ).toBe('the Mcp-Param-Region header carries an invalid Base64 value');
    expect(checkParamHeaders(declarations, { count: 7 }, headers({ 'Mcp-Param-Count': '8' }))?.message).toBe(
      'the Mcp-Param-Count header decodes to "8" but the body carries count=7',
    );
    expect(
      checkParamHeaders(declarations, { dry: false }, headers({ 'Mcp-Param-Dry-Run': 'true' }))?.header,
    ).toBe('Mcp-Param-Dry-Run');
  });
});
