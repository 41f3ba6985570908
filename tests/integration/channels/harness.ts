// Test harness for the channels server: keys per run, the server in-process over HTTP (port 0) or as a child process,
// and SDK v2 clients that authenticate as agents with the proxy's internal child tokens.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { issueChildToken } from '../../../auth/internal.ts';
import { generateKeyPair, loadSigner, type Signer } from '../../../auth/keys.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { channelsServerSpec } from '../../../servers/channels/server.ts';

export const issuer = 'http://proxy.test';

export interface Harness {
  dir: string;
  keysDir: string;
  dataDir: string;
  signer: Signer;
  cleanup(): Promise<void>;
}

export async function createHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-channels-'));
  const keysDir = join(dir, 'keys');
  await generateKeyPair(keysDir);
  return {
    dir,
    keysDir,
    dataDir: join(dir, 'data'),
    signer: await loadSigner(keysDir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function startInProcess(h: Harness): Promise<RunningKitServer> {
  return startKitServer(channelsServerSpec, {
    dataDir: h.dataDir,
    keysDir: h.keysDir,
    issuer,
    port: 0,
    logger: createSilentLogger(),
  });
}

export interface AgentClient {
  agent: string;
  client: Client;
  /** Calls a tool and returns its structured result; throws with the error code on isError. */
  call<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls a tool and returns the raw result. */
  raw(name: string, args?: Record<string, unknown>): ReturnType<Client['callTool']>;
  close(): Promise<void>;
}

export class ToolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export async function connectAgent(
  url: string,
  h: Harness,
  agent: string,
  options: { modern?: boolean; child?: string } = {},
): Promise<AgentClient> {
  const token = await issueChildToken(h.signer, {
    issuer,
    child: options.child ?? 'channels',
    agent,
    ttlSeconds: 600,
  });
  const client = new Client(
    { name: `test-${agent}`, version: '1.0.0' },
    options.modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  const raw = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args });
  return {
    agent,
    client,
    raw,
    async call<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
      const result = await raw(name, args);
      const value = result.structuredContent as Record<string, unknown> | undefined;
      if (result.isError === true) {
        const error = value?.error as { code?: string; message?: string } | undefined;
        const text = result.content.map((c) => ('text' in c ? c.text : '')).join(' ');
        throw new ToolError(error?.code ?? 'ERR_TOOL', error?.message ?? text);
      }
      return value as T;
    },
    close: () => client.close(),
  };
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `node servers/channels/main.ts` and waits for its listening line. */
export async function startChildProcess(h: Harness, extra: string[] = []): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    [
      'servers/channels/main.ts',
      '--keys-dir',
      h.keysDir,
      '--issuer',
      issuer,
      '--data-dir',
      h.dataDir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'warn' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 20_000);
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && event.url) {
        clearTimeout(timer);
        resolve(event.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
