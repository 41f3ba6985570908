import { describe, expect, it } from 'vitest';
import { checkJsonRpcMessage, maxJsonDepth, sanitizeJson } from '../../../proxy/edge/jsonrpc.ts';
import { extractBearerToken, bearerChallenge } from '../../../proxy/edge/bearer.ts';
import { resolveProxyUrls, withListen } from '../../../proxy/edge/public-url.ts';
import { toWireError } from '../../../proxy/errors-to-wire.ts';
import { McpcpError } from '../../../lib/errors.ts';

describe('checkJsonRpcMessage', () => {
  it('accepts requests, notifications and responses', () => {
    expect(checkJsonRpcMessage({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toMatchObject({
      ok: true,
      kind: 'request',
      id: 1,
    });
    expect(checkJsonRpcMessage({ jsonrpc: '2.0', method: 'notifications/initialized' })).toMatchObject({
      ok: true,
      kind: 'notification',
    });
    expect(checkJsonRpcMessage({ jsonrpc: '2.0', id: 'a', result: {} })).toMatchObject({
      ok: true,
      kind: 'response',
    });
    expect(
      checkJsonRpcMessage({ jsonrpc: '2.0', id: 'a', error: { code: -1, message: 'no' } }),
    ).toMatchObject({ ok: true, kind: 'response' });
  });

  it('refuses a batch array and says batches were removed', () => {
    const check = checkJsonRpcMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
    expect(check).toMatchObject({ ok: false, code: -32600, id: null });
    if (!check.ok) expect(check.message).toMatch(/batch/i);
  });

  it.each([
    ['a string', 'hello'],
    ['null', null],
    ['a wrong version', { jsonrpc: '1.0', id: 1, method: 'x' }],
    ['a numeric method', { jsonrpc: '2.0', id: 1, method: 5 }],
    ['array params', { jsonrpc: '2.0', id: 1, method: 'x', params: [1] }],
    ['an object id', { jsonrpc: '2.0', id: {}, method: 'x' }],
    ['neither method nor result', { jsonrpc: '2.0', id: 1 }],
    ['both result and error', { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }],
    ['a malformed error', { jsonrpc: '2.0', id: 1, error: 'bad' }],
  ])('refuses %s with -32600', (_label, body) => {
    expect(checkJsonRpcMessage(body)).toMatchObject({ ok: false, code: -32600 });
  });

  it('echoes a usable id in the refusal', () => {
    expect(checkJsonRpcMessage({ jsonrpc: '1.0', id: 7, method: 'x' })).toMatchObject({ ok: false, id: 7 });
  });
});

describe('bearer helpers', () => {
  it('extracts a Bearer token case-insensitively and ignores other schemes', () => {
    expect(extractBearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(extractBearerToken('bearer abc')).toBe('abc');
    expect(extractBearerToken('Basic abc')).toBeUndefined();
    expect(extractBearerToken('Bearer ')).toBeUndefined();
    expect(extractBearerToken(null)).toBeUndefined();
  });

  it('writes RFC 6750 challenges with resource_metadata', () => {
    expect(
      bearerChallenge({ resourceMetadataUrl: 'http://h/.well-known/oauth-protected-resource/mcp' }),
    ).toBe('Bearer resource_metadata="http://h/.well-known/oauth-protected-resource/mcp"');
    expect(
      bearerChallenge({ resourceMetadataUrl: 'http://h/x', error: 'invalid_token', description: 'say "hi"' }),
    ).toBe('Bearer error="invalid_token", error_description="say \\"hi\\"", resource_metadata="http://h/x"');
  });
});

describe('resolveProxyUrls', () => {
  it('derives publicUrl, resource and issuer from the bound port when port 0 was asked', () => {
    const urls = resolveProxyUrls(
      { listen: { host: '127.0.0.1', port: 0 }, publicUrl: 'http://127.0.0.1:0' },
      4321,
    );
    expect(urls).toEqual({
      publicUrl: 'http://127.0.0.1:4321',
      resource: 'http://127.0.0.1:4321/mcp',
      issuer: 'http://127.0.0.1:4321',
      resourceMetadataUrl: 'http://127.0.0.1:4321/.well-known/oauth-protected-resource/mcp',
    });
  });

  it('keeps an explicit publicUrl and issuer', () => {
    const urls = resolveProxyUrls(
      {
        listen: { host: '0.0.0.0', port: 8080 },
        publicUrl: 'https://mcp.example.com/',
        issuer: 'https://id.example.com/',
      },
      8080,
    );
    expect(urls.resource).toBe('https://mcp.example.com/mcp');
    expect(urls.issuer).toBe('https://id.example.com/');
  });

  it('defaults publicUrl to the listen address', () => {
    expect(resolveProxyUrls({ listen: { host: '0.0.0.0', port: 9 } }).publicUrl).toBe('http://127.0.0.1:9');
  });
});

describe('withListen (up --port / --host)', () => {
  const derived = {
    listen: { host: '127.0.0.1', port: 9003 },
    publicUrl: 'http://127.0.0.1:9003',
    issuer: 'http://127.0.0.1:9003',
  };

  it('moves a publicUrl derived from the config listen address, so the audience names the real port', () => {
    const urls = resolveProxyUrls(withListen(derived, { host: '127.0.0.1', port: 9100 }), 9100);
    expect(urls.resource).toBe('http://127.0.0.1:9100/mcp');
    expect(urls.resourceMetadataUrl).toBe('http://127.0.0.1:9100/.well-known/oauth-protected-resource/mcp');
    // The issuer is a name first-party children verify: it stays.
    expect(urls.issuer).toBe('http://127.0.0.1:9003');
    const anyPort = resolveProxyUrls(withListen(derived, { host: '127.0.0.1', port: 0 }), 41234);
    expect(anyPort.resource).toBe('http://127.0.0.1:41234/mcp');
  });

  it('keeps a publicUrl set by hand, and changes nothing when the address is the configured one', () => {
    const explicit = { ...derived, publicUrl: 'https://mcp.example.com' };
    expect(withListen(explicit, { host: '127.0.0.1', port: 9100 }).publicUrl).toBe('https://mcp.example.com');
    expect(withListen(derived, { host: '127.0.0.1', port: 9003 })).toEqual(derived);
  });
});

describe('toWireError', () => {
  it('maps token errors to 401 with generic messages', () => {
    expect(toWireError(new McpcpError('ERR_TOKEN_EXPIRED', 'exp 123 < now 456'))).toMatchObject({
      status: 401,
      message: 'The access token expired',
      internal: false,
    });
    expect(toWireError(new McpcpError('ERR_TOKEN_SIGNATURE', 'detail'))).toMatchObject({
      status: 401,
      message: 'The access token is invalid',
    });
  });

  it('answers a denied name exactly like an unknown one', () => {
    const denied = toWireError(new McpcpError('ERR_POLICY_DENIED', 'rule x'));
    const unknown = toWireError(new McpcpError('ERR_UNKNOWN_NAME', 'no such tool'));
    expect(denied).toEqual(unknown);
  });

  it('maps unknown errors to an internal error, never a 400', () => {
    expect(toWireError(new Error('boom'))).toEqual({
      status: 500,
      rpcCode: -32603,
      message: 'Internal error',
      internal: true,
    });
    expect(toWireError(new McpcpError('ERR_RATE_LIMITED', 'x'))).toMatchObject({ status: 429 });
  });
});

describe('sanitizeJson', () => {
  it('measures depth without recursion, so no input can overflow the stack', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(sanitizeJson(deep).tooDeep).toBe(true);
    expect(sanitizeJson({ a: [{ b: 1 }] }, 3).tooDeep).toBe(false);
    expect(sanitizeJson({ a: [{ b: {} }] }, 3).tooDeep).toBe(true);
    expect(sanitizeJson('text').tooDeep).toBe(false);
  });

  it('drops own __proto__ keys at any depth and keeps everything else', () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"a":[{"__proto__":{"y":2},"b":3}]}') as Record<
      string,
      unknown
    >;
    sanitizeJson(parsed);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect(parsed).toEqual({ a: [{ b: 3 }] });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('is what checkJsonRpcMessage refuses past maxJsonDepth, with -32600', () => {
    let params: unknown = 1;
    for (let i = 0; i < maxJsonDepth; i += 1) params = { p: params };
    const check = checkJsonRpcMessage({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
    expect(check).toMatchObject({ ok: false, code: -32600, id: 1 });
  });
});
