// The authorization server's only outbound HTTP: fetching a client's metadata document (CIMD). HTTPS only,
// every resolved address checked before connecting (proxy/oauth/address-guard.ts; the socket connects to the
// checked address, so DNS cannot answer differently a moment later), no redirects followed, a time limit on
// the whole exchange and a size cap counted while reading. It is handed to oidc-provider as its `fetch`.
// It must not parse or judge the document: oidc-provider does.
import { lookup as dnsLookup } from 'node:dns';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { isIP } from 'node:net';
import { addressAllowed } from './address-guard.ts';

export interface ClientFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Development: loopback addresses may be fetched. */
  allowLoopback: boolean;
  /** Development: extra trusted CA certificates (PEM). */
  extraCa?: string | undefined;
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export type ClientFetchFailure = 'scheme' | 'address' | 'timeout' | 'too-large' | 'network';

export class ClientFetchError extends Error {
  readonly reason: ClientFetchFailure;
  constructor(reason: ClientFetchFailure, message: string) {
    super(message);
    this.name = 'ClientFetchError';
    this.reason = reason;
  }
}

function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, '', 0);
      const list = addresses;
      const refused = list.find((a) => !addressAllowed(a.address, allowLoopback));
      if (refused !== undefined || list.length === 0) {
        const reason = new ClientFetchError('address', `${hostname} resolves to a refused address`);
        return callback(reason, '', 0);
      }
      if (options.all === true) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}

export function createClientFetch(options: ClientFetchOptions): FetchLike {
  const ca = options.extraCa === undefined ? undefined : [...rootCertificates, options.extraCa];
  const lookup = guardedLookup(options.allowLoopback);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      if (url.protocol !== 'https:') {
        return reject(
          new ClientFetchError('scheme', 'client metadata documents are fetched over https only'),
        );
      }
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      // An IP literal skips DNS (and so `lookup`): check it here.
      if (isIP(host) !== 0 && !addressAllowed(host, options.allowLoopback)) {
        return reject(new ClientFetchError('address', `${host} is not a public address`));
      }
      const signals = [AbortSignal.timeout(options.timeoutMs)];
      if (init.signal) signals.push(init.signal);
      const signal = AbortSignal.any(signals);
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'mcpcp' };
      const req = request(url, {
        method: 'GET',
        headers,
        lookup,
        signal,
        ...(ca === undefined ? {} : { ca }),
      });
      req.once('error', (error) => {
        if (signal.aborted)
          return reject(new ClientFetchError('timeout', 'client metadata document fetch timed out'));
        reject(error instanceof ClientFetchError ? error : new ClientFetchError('network', error.message));
      });
      req.once('response', (res: IncomingMessage) =>
        resolve(toResponse(res, options.maxBytes, req.destroy.bind(req))),
      );
      req.end();
    });
}

/** A Web Response over node's response, whose body errors once more than `maxBytes` arrive. */
function toResponse(res: IncomingMessage, maxBytes: number, destroy: (error?: Error) => void): Response {
  const headers = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2)
    headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 500;
  if (status === 204 || status === 304 || (status >= 300 && status < 400)) {
    res.resume();
    destroy();
    return new Response(null, { status, headers });
  }
  let received = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          const error = new ClientFetchError(
            'too-large',
            `client metadata document larger than ${maxBytes} bytes`,
          );
          controller.error(error);
          destroy(error);
          return;
        }
        controller.enqueue(new Uint8Array(chunk));
      });
      res.once('end', () => {
        if (received <= maxBytes) controller.close();
      });
      res.once('error', (error) => controller.error(error));
    },
    cancel() {
      destroy();
    },
  });
  return new Response(body, { status, headers });
}
