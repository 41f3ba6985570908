// Readiness is an MCP handshake plus a successful `tools/list` within a deadline — never merely "the port is
// open". Also parses the `{"event":"listening","url":…}` line first-party servers print when they listen, and
// waits for a fixed port to accept connections. It must not spawn or kill processes.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, Tool, Transport } from '@modelcontextprotocol/client';
import { McpcpError } from '../lib/errors.ts';

/** The URL from a `{"event":"listening","url":"http://…"}` stdout line, or undefined for any other line. */
export function parseListeningLine(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const { event, url } = value as { event?: unknown; url?: unknown };
    if (event !== 'listening' || typeof url !== 'string') return undefined;
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** True when a configured URL means "whatever the child reports": absent, or port 0. */
export function needsListeningLine(url: string | undefined): boolean {
  if (url === undefined) return true;
  try {
    return new URL(url).port === '0';
  } catch {
    return true;
  }
}

/** Rejects with ERR_UPSTREAM_TIMEOUT naming `what` when `promise` does not settle by `deadline` (epoch ms). */
export async function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  what: string,
  now = Date.now,
): Promise<T> {
  const remaining = Math.max(deadline - now(), 0);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new McpcpError('ERR_UPSTREAM_TIMEOUT', `${what} did not finish in time`)),
      remaining,
    );
    timer.unref(); // a deadline never keeps the process alive by itself
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects `client` over `transport` and lists its tools (all pages), before `deadline`. */
export async function handshake(
  client: Client,
  transport: Transport,
  deadline: number,
  now = Date.now,
): Promise<Tool[]> {
  await beforeDeadline(
    client.connect(transport, { timeout: Math.max(deadline - now(), 1) }),
    deadline,
    'the MCP initialize handshake',
    now,
  );
  const listed = await beforeDeadline(
    client.listTools(undefined, { timeout: Math.max(deadline - now(), 1) }),
    deadline,
    'tools/list',
    now,
  );
  return listed.tools;
}

/**
 * Resolves true once something accepts TCP connections at the URL's host and port, polling every `intervalMs`;
 * false as soon as `stop()` says to give up.
 */
export async function waitForPort(url: string, stop: () => boolean, intervalMs = 50): Promise<boolean> {
  const parsed = new URL(url);
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  while (!stop()) {
    if (await accepts(host, port)) return true;
    await sleep(intervalMs, undefined, { ref: false });
  }
  return false;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.unref();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
