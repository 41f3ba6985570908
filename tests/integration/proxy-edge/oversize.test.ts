// An oversized request body over a real socket, sent as a plain client sends it (the whole body first, then read
// the answer), at a pace slower than a loopback burst: it always gets a clean 413 with `Connection: close`, and the
// proxy closes the connection only after the answer, having read the rest of the body (no EPIPE, no reset).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness(configYaml({ maxBodyBytes: 1_048_576 }));
});

afterAll(async () => {
  await h?.close();
});

/** ~3 MB: a tools/call whose params hold 200,000 keys. */
function hugeBody(): Buffer {
  const params: Record<string, number> = {};
  for (let i = 0; i < 200_000; i++) params[`key_${i}`] = i;
  return Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params }));
}

interface Exchange {
  /** Errors the client saw while writing or reading (EPIPE, ECONNRESET, …). */
  errors: string[];
  /** Everything the server sent. */
  answer: string;
  /** The server ended the connection with a FIN (not a reset). */
  ended: boolean;
}

/** Writes head and body in 64 KiB pieces, 10 ms apart, waiting for each write; reads only what comes back. */
async function send(head: string, body: Buffer | Buffer[]): Promise<Exchange> {
  const url = new URL(h.proxy.mcpUrl);
  const socket: Socket = connect(Number(url.port), url.hostname);
  const errors: string[] = [];
  let answer = '';
  let ended = false;
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('end', () => (ended = true));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const write = (data: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.write(data, (error) => {
        if (error) errors.push((error as NodeJS.ErrnoException).code ?? error.message);
        resolve();
      });
    });
  await write(head);
  for (const piece of Array.isArray(body) ? body : [body]) {
    for (let offset = 0; offset < piece.length && !socket.destroyed; offset += 65_536) {
      await write(piece.subarray(offset, offset + 65_536));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  socket.destroy();
  return { errors, answer, ended };
}

async function headOf(length: string): Promise<string> {
  const url = new URL(h.proxy.mcpUrl);
  return [
    'POST /mcp HTTP/1.1',
    `Host: ${url.host}`,
    `Authorization: Bearer ${await h.token('alice')}`,
    'Content-Type: application/json',
    'Accept: application/json, text/event-stream',
    length,
    '',
    '',
  ].join('\r\n');
}

function expectClean413(exchange: Exchange): void {
  expect(exchange.errors).toEqual([]);
  expect(exchange.answer).toMatch(/^HTTP\/1\.1 413 /);
  expect(exchange.answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
  const body = exchange.answer.slice(exchange.answer.indexOf('\r\n\r\n') + 4);
  expect(JSON.parse(body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  expect(exchange.ended).toBe(true);
}

describe('an oversized body over a real socket', () => {
  it('gets a clean 413 with Connection: close when its length is declared, every time', async () => {
    const body = hugeBody();
    expect(body.length).toBeGreaterThan(2_500_000);
    for (let round = 0; round < 3; round++) {
      expectClean413(await send(await headOf(`Content-Length: ${body.length}`), body));
    }
  }, 60_000);

  it('gets a clean 413 with Connection: close when it is sent in chunks', async () => {
    const body = hugeBody();
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += 65_536) {
      const piece = body.subarray(offset, offset + 65_536);
      chunks.push(
        Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]),
      );
    }
    chunks.push(Buffer.from('0\r\n\r\n'));
    expectClean413(await send(await headOf('Transfer-Encoding: chunked'), chunks));
  }, 60_000);

  it('reads the rest of a refused body only up to a bound, then closes (a client announcing 1 GiB)', async () => {
    const url = new URL(h.proxy.mcpUrl);
    const socket: Socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(await headOf(`Content-Length: ${2 ** 30}`));
    const piece = Buffer.alloc(256 * 1024, 0x20);
    let sent = 0;
    let gone = false;
    void closed.then(() => (gone = true));
    // Writes as fast as the socket takes it, until the proxy closes the connection (or 128 MiB went out).
    while (!gone && !socket.destroyed && sent < 128 * 1024 * 1024) {
      const flushed = socket.write(piece);
      sent += piece.length;
      if (!flushed) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      }
    }
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    socket.destroy();
    expect(gone).toBe(true);
    // The answer came first, whole, before the proxy stopped reading.
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
    // The bound is 8 MiB for a 1 MiB limit; socket buffers on both sides hold some more.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
