// Every private member of the MCP SDK (v2) that a direct lane relies on (ARCHITECTURE.md decision 17) still
// exists with the shape the lane expects, on real SDK objects: an SDK upgrade that renames or reshapes one
// fails here, loudly, instead of a lane silently diverging from the SDK's path. The SDK packages are
// pinned to exact versions in package.json; upgrading them means running this test first.
// Which file relies on what: lib/mcp-direct-post.ts, proxy/gateway/session-transport.ts,
// proxy/gateway/direct-call.ts, proxy/gateway/modern-direct.ts, proxy/upstreams/direct-request.ts,
// proxy/upstreams/child-http-transport.ts, proxy/upstreams/client.ts, servers/_kit/http.ts.
import { readFileSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  InMemoryTransport,
  Server,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';

type Bag = Record<string, unknown>;
const bag = (value: unknown): Bag => value as Bag;
const fn = expect.any(Function);

describe('the SDK members the direct lanes rely on', () => {
  it('are pinned to the versions this test was written against', () => {
    const read = (file: string): unknown =>
      JSON.parse(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8'));
    const version = (name: string) =>
      (read(`node_modules/${name}/package.json`) as { version: string }).version;
    const pinned = (read('package.json') as { dependencies: Record<string, string> }).dependencies;
    for (const name of [
      '@modelcontextprotocol/client',
      '@modelcontextprotocol/server',
      '@modelcontextprotocol/hono',
    ])
      expect(pinned[name], `${name} must be pinned to an exact version`).toMatch(/^\d+\.\d+\.\d+$/);
    expect(version('@modelcontextprotocol/client')).toBe('2.4.0');
    expect(version('@modelcontextprotocol/server')).toBe('2.4.0');
  });

  it('WebStandardStreamableHTTPServerTransport: the per-POST records and checks (mcp-direct-post.ts, session-transport.ts)', () => {
    const transport = bag(
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => 'sid',
        enableJsonResponse: true,
      }),
    );
    expect(transport._closed).toBe(false);
    expect(transport._enableJsonResponse).toBe(true);
    expect(transport._streamMapping).toBeInstanceOf(Map);
    expect(transport._requestToStreamMapping).toBeInstanceOf(Map);
    expect(transport.validateSession).toEqual(fn);
    expect(transport.validateProtocolVersion).toEqual(fn);
    expect(transport.writeSSEEvent).toEqual(fn);
    expect(transport.startKeepAlive).toEqual(fn);
    // The lane refuses when a scope challenge resolver is set: it must land in the field the lane reads.
    expect(transport._scopeChallengeResolver).toBeUndefined();
    const resolver = () => undefined;
    (transport.setScopeChallengeResolver as (r: unknown) => void)(resolver);
    expect(transport._scopeChallengeResolver).toBe(resolver);
  });

  it('Server: its dispatch tables and codecs (direct-call.ts, modern-direct.ts, servers/_kit/http.ts)', () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler('tools/call', () => ({ content: [] }));
    const inner = bag(server);
    expect(inner._requestHandlerAbortControllers).toBeInstanceOf(Map);
    expect(inner._requestHandlers).toBeInstanceOf(Map);
    expect((inner._requestHandlers as Map<string, unknown>).get('tools/call')).toEqual(fn);
    expect(inner._onrequest).toEqual(fn);
    expect(inner._outboundServerInfo).toEqual(fn);
    const legacyCodec = bag((inner._wireCodec as () => unknown).call(server));
    expect(legacyCodec.validateResult).toEqual(fn);
    expect(legacyCodec.encodeErrorCode).toEqual(fn);
    // modern-direct.ts marks a front Server as serving 2026-07-28 through this field.
    expect('_negotiatedProtocolVersion' in inner).toBe(true);
    inner._negotiatedProtocolVersion = '2026-07-28';
    const codec = bag((inner._negotiatedWireCodec as () => unknown).call(server));
    expect(codec.encodeResult).toEqual(fn);
    expect(codec.encodeErrorCode).toEqual(fn);
    expect(codec.hasNotificationMethod).toEqual(fn);
    const encoded = (codec.encodeResult as (m: string, r: Bag, i: unknown) => Bag)(
      'tools/call',
      { content: [] },
      undefined,
    );
    expect(encoded.resultType).toBe('complete');
  });

  it('Client: its request funnel and era codec (direct-request.ts, client.ts)', async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    const client = new Client({ name: 'c', version: '1' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a);
    try {
      const inner = bag(client);
      expect(inner.transport).toBe(a);
      expect(typeof inner._requestMessageId).toBe('number');
      expect(typeof inner._negotiatedProtocolVersion).toBe('string');
      for (const name of [
        '_resolveOutboundCodec',
        '_assertOutboundRequestInEra',
        '_envelopeOutbound',
        '_resolveNonCompleteResult',
        '_requestWithSchemaViaCodec',
        '_onresponse',
      ])
        expect(inner[name], name).toEqual(fn);
      const codec = bag((inner._resolveOutboundCodec as (m: string) => unknown).call(client, 'tools/call'));
      expect(typeof codec.era).toBe('string');
      expect(codec.decodeResult).toEqual(fn);
      const decoded = bag(
        (codec.decodeResult as (m: string, r: unknown) => unknown)('tools/call', { content: [] }),
      );
      expect(decoded.kind).toBe('complete');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('StreamableHTTPClientTransport: what a plain POST needs (child-http-transport.ts)', async () => {
    const authProvider = { token: () => Promise.resolve('t') };
    const requestInit = { headers: { x: '1' } };
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'), {
      authProvider,
      requestInit,
    });
    const inner = bag(transport);
    expect(inner._url).toBeInstanceOf(URL);
    expect(inner._requestInit).toBe(requestInit);
    expect(inner._authProvider).toBe(authProvider);
    expect('_sessionId' in inner || inner._sessionId === undefined).toBe(true);
    expect(inner._scheduleReconnection).toEqual(fn);
    expect(inner._applyBodyDerivedHeaders).toEqual(fn);
    await transport.start();
    expect(inner._abortController).toBeInstanceOf(AbortController);
    transport.setProtocolVersion('2025-11-25');
    expect(inner._protocolVersion).toBe('2025-11-25');
    await transport.close();
  });
});
