// The one error seam: local codes to the wire (lib/wire-errors.ts), and upstream failures to local codes by the
// SDK's constants and socket error codes (proxy/errors-to-wire.ts), never by message text.
import {
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
} from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { McpcpError } from '../../../lib/errors.ts';
import { rpcCodes, toWireError } from '../../../lib/wire-errors.ts';
import { upstreamCodeOf, upstreamFailure } from '../../../proxy/errors-to-wire.ts';
import {
  isNetworkFailure,
  isSessionExpired,
  isStaleConnection,
} from '../../../proxy/upstreams/http-errors.ts';

describe('rpcCodes', () => {
  it('are the numbers the SDK names', () => {
    expect(rpcCodes.parseError).toBe(ProtocolErrorCode.ParseError);
    expect(rpcCodes.invalidRequest).toBe(ProtocolErrorCode.InvalidRequest);
    expect(rpcCodes.methodNotFound).toBe(ProtocolErrorCode.MethodNotFound);
    expect(rpcCodes.invalidParams).toBe(ProtocolErrorCode.InvalidParams);
    expect(rpcCodes.internalError).toBe(ProtocolErrorCode.InternalError);
  });
});

describe('toWireError', () => {
  it('gives every catalogued wire code a status and a generic message', () => {
    expect(toWireError(new McpcpError('ERR_RATE_LIMITED', 'agent x'))).toEqual({
      status: 429,
      rpcCode: rpcCodes.serverError,
      message: 'Rate limit exceeded; retry later',
      internal: false,
    });
    expect(toWireError(new McpcpError('ERR_FORBIDDEN', 'secret detail'))).toMatchObject({
      status: 403,
      message: 'Forbidden',
    });
    expect(toWireError(new McpcpError('ERR_UPSTREAM_CLOSED', 'x'))).toMatchObject({ status: 502 });
    // Only a token refusal names its code; details never reach the wire.
    expect(toWireError(new McpcpError('ERR_TOKEN_AUDIENCE', 'aud was y'))).toMatchObject({
      status: 401,
      code: 'ERR_TOKEN_AUDIENCE',
      message: 'The access token is invalid',
    });
    expect(toWireError(new McpcpError('ERR_NOT_FOUND', 'x')).code).toBeUndefined();
  });
});

const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });

describe('upstream failures', () => {
  it('are told apart by the SDK error code constants', () => {
    expect(upstreamCodeOf(new SdkError(SdkErrorCode.RequestTimeout, 'anything'))).toBe(
      'ERR_UPSTREAM_TIMEOUT',
    );
    for (const code of [SdkErrorCode.ConnectionClosed, SdkErrorCode.NotConnected, SdkErrorCode.SendFailed]) {
      expect(upstreamCodeOf(new SdkError(code, 'anything'))).toBe('ERR_UPSTREAM_CLOSED');
    }
    // Judged by the code, never the text: an invalid result is a bad result whatever its message says.
    expect(upstreamCodeOf(new SdkError(SdkErrorCode.InvalidResult, 'Request timed out'))).toBe(
      'ERR_UPSTREAM_BAD_RESULT',
    );
    expect(upstreamCodeOf(new SdkError(SdkErrorCode.UnsupportedResultType, 'x'))).toBe(
      'ERR_UPSTREAM_BAD_RESULT',
    );
    expect(upstreamCodeOf(new SyntaxError('Unexpected token'))).toBe('ERR_UPSTREAM_BAD_RESULT');
  });

  it('count a refused or reset connection by its socket code, not by the words "fetch failed"', () => {
    expect(upstreamCodeOf(refused())).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(isNetworkFailure(new TypeError('fetch failed'))).toBe(false);
    expect(isNetworkFailure(new Error('ECONNREFUSED in the text only'))).toBe(false);
    expect(isNetworkFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('become the error the agent sees, naming the server, and the audit outcome', () => {
    const timeout = upstreamFailure(new SdkError(SdkErrorCode.RequestTimeout, 'x'), 'alpha', 1500);
    expect(timeout).toMatchObject({ outcome: 'timeout', unexpected: false });
    expect(timeout.error.code).toBe(rpcCodes.requestTimeout);
    expect(timeout.error.message).toContain('Request to server alpha timed out after 1500 ms');
    const gone = upstreamFailure(refused(), 'gone', 1);
    expect(gone).toMatchObject({ outcome: 'unavailable', unexpected: false });
    expect(gone.error.code).toBe(rpcCodes.internalError);
    expect(gone.error.message).toContain('Server gone is unavailable');
    const closed = upstreamFailure(new SdkError(SdkErrorCode.ConnectionClosed, 'x'), 'crashy', 1);
    expect(closed.error.message).toContain('Server crashy closed the connection before answering');
    const own = new ProtocolError(ProtocolErrorCode.InvalidParams, 'the child said no');
    expect(upstreamFailure(own, 'alpha', 1)).toEqual({ error: own, outcome: 'error', unexpected: false });
    const surprise = upstreamFailure(new RangeError('bug'), 'alpha', 1);
    expect(surprise).toMatchObject({ outcome: 'error', unexpected: true });
    expect(surprise.error.message).toContain('Internal error');
    expect(surprise.error.data).toEqual({ server: 'alpha' });
    const bad = upstreamFailure(
      new SdkError(SdkErrorCode.InvalidResult, 'content: expected array'),
      'dual',
      1,
    );
    expect(bad).toMatchObject({ outcome: 'error', unexpected: false });
    expect(bad.error.code).toBe(rpcCodes.internalError);
    expect(bad.error.message).toBe(
      'Server dual answered with a result the proxy cannot pass on: content: expected array',
    );
    expect(bad.error.data).toEqual({ server: 'dual', cause: 'content: expected array' });
  });
});

describe('stale connections', () => {
  it('are a forgotten session (404 by status), a NotConnected code, or a plain refusal on a closed client', () => {
    const notFound = new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'Error POSTing', {
      status: 404,
      statusText: 'Not Found',
    });
    expect(isSessionExpired(notFound)).toBe(true);
    expect(isSessionExpired(new Error('HTTP 404 in the text only'))).toBe(false);
    expect(isStaleConnection(new SdkError(SdkErrorCode.NotConnected, 'x'))).toBe(true);
    const closedClient = { transport: undefined };
    expect(isStaleConnection(new Error('Not connected'), closedClient)).toBe(true);
    expect(isStaleConnection(new Error('Not connected'), { transport: {} })).toBe(false);
    // Closed mid-request: it may have been delivered, so it is not retried.
    expect(isStaleConnection(new SdkError(SdkErrorCode.ConnectionClosed, 'x'), closedClient)).toBe(false);
  });
});
