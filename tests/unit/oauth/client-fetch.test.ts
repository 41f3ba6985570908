// The metadata document fetch refuses before connecting: a plain TCP server counts connections and must see none.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientFetchError, createClientFetch } from '../../../proxy/oauth/client-fetch.ts';

let server: Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const strict = createClientFetch({ timeoutMs: 1000, maxBytes: 1024, allowLoopback: false });

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof ClientFetchError ? error.reason : `other: ${String(error)}`;
  }
}

describe('createClientFetch', () => {
  it('refuses http:// URLs', async () => {
    expect(await reasonOf(strict(`http://127.0.0.1:${port}/doc.json`))).toBe('scheme');
  });

  it('refuses a loopback IP literal without connecting', async () => {
    expect(await reasonOf(strict(`https://127.0.0.1:${port}/doc.json`))).toBe('address');
    expect(connections).toBe(0);
  });

  it('refuses a host name that resolves to loopback without connecting', async () => {
    expect(await reasonOf(strict(`https://localhost:${port}/doc.json`))).toBe('address');
    expect(connections).toBe(0);
  });

  it('refuses the cloud metadata address even with loopback allowed, without a time-out', async () => {
    const lenient = createClientFetch({ timeoutMs: 60_000, maxBytes: 1024, allowLoopback: true });
    expect(await reasonOf(lenient('https://169.254.169.254/latest/meta-data'))).toBe('address');
  });

  it('connects to loopback when the development setting allows it', async () => {
    const lenient = createClientFetch({ timeoutMs: 2000, maxBytes: 1024, allowLoopback: true });
    // The TCP server hangs up at once: a network failure, but only after connecting.
    expect(await reasonOf(lenient(`https://127.0.0.1:${port}/doc.json`))).toBe('network');
    expect(connections).toBe(1);
  });
});
