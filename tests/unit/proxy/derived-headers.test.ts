// The headers a 2026-era request derives from its body: the proxy's shortcut for a plain tools/call name
// (proxy/upstreams/child-http-transport.ts) gives exactly what the SDK's transport derives, and every
// other request is left to the SDK.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { ChildHttpTransport, deriveHeaders } from '../../../proxy/upstreams/child-http-transport.ts';

const url = new URL('http://127.0.0.1:1/mcp');
const envelope = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };

function sdkHeaders(message: object): Record<string, string> {
  const headers = new Headers();
  (
    new StreamableHTTPClientTransport(url) as unknown as {
      _applyBodyDerivedHeaders(headers: Headers, message: object): void;
    }
  )._applyBodyDerivedHeaders(headers, message);
  return Object.fromEntries(headers);
}

function ours(message: { method: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  deriveHeaders(new ChildHttpTransport(url), headers, message as never);
  return headers;
}

const request = (method: string, params: object) => ({ jsonrpc: '2.0', id: 1, method, params });

describe('body-derived headers of a 2026-era request', () => {
  it('match the SDK for plain and unusual tool names, other methods and legacy requests', () => {
    const messages = [
      request('tools/call', { name: 'echo', arguments: {}, _meta: envelope }),
      request('tools/call', { name: 'a.b-c_D9', _meta: envelope }),
      request('tools/call', { name: 'nörd', _meta: envelope }),
      request('tools/call', { name: ' padded ', _meta: envelope }),
      request('tools/call', { name: '=?base64?abc?=', _meta: envelope }),
      request('tools/call', { name: '', _meta: envelope }),
      request('tools/call', { name: 7, _meta: envelope }),
      request('prompts/get', { name: 'greet', _meta: envelope }),
      request('resources/read', { uri: 'test://x', _meta: envelope }),
      request('tools/list', { _meta: envelope }),
      request('tools/call', { name: 'echo' }),
    ];
    for (const message of messages) expect(ours(message)).toEqual(sdkHeaders(message));
    expect(ours(messages[0]!)).toEqual({
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
  });
});
