// Test harness for the gateway: a real HTTP server on port 0 (Hono on @hono/node-server) whose /mcp
// passes a fixed principal, named by the x-test-agent header, to gateway.handleMcp. The real edge
// (tokens, limits) is tested elsewhere; this isolates MCP behaviour.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Client, StreamableHTTPClientTransport, type ClientOptions } from '@modelcontextprotocol/client';
import { Hono } from 'hono';
import { afterAll, beforeAll } from 'vitest';
import { compilePolicy } from '../../../auth/policy.ts';
import { parseConfig } from '../../../config/load.ts';
import type { McpcpConfig } from '../../../config/schema.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import {
  createGateway,
  type CallEvent,
  type Gateway,
  type GatewayOptions,
  type GatewayTuning,
} from '../../../proxy/gateway/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixture = path.resolve(here, '../../fixtures/servers/test-child.ts');
export const everythingBin = path.resolve(
  here,
  '../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
export const node = process.execPath;

export interface Harness {
  url: string;
  gateway: Gateway;
  config: McpcpConfig;
  events: CallEvent[];
  connect(
    agent: string,
    options?: { era?: 'legacy' | 'modern'; client?: ClientOptions; setup?: (client: Client) => void },
  ): Promise<Client>;
  close(): Promise<void>;
}

export async function startHarness(
  yaml: string,
  tuning: GatewayTuning &
    Partial<
      Pick<GatewayOptions, 'callTimeoutMs' | 'childTokens' | 'logger' | 'supervision' | 'toolGate'>
    > = {},
): Promise<Harness> {
  const config = parseConfig(yaml, path.join(here, 'test.yaml'));
  const events: CallEvent[] = [];
  const gateway = createGateway({
    servers: config.servers,
    policy: compilePolicy(config),
    callTimeoutMs: tuning.callTimeoutMs ?? 10_000,
    logger: createSilentLogger(),
    onCall: (e) => events.push(e),
    ...tuning,
  });
  await gateway.start();
  const app = new Hono();
  app.all('/mcp', (c) => {
    const agent = c.req.header('x-test-agent') ?? 'anonymous';
    return gateway.handleMcp(c.req.raw, {
      agent,
      scopes: [],
      claims: {},
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
  });
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
  const clients: Client[] = [];
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    gateway,
    config,
    events,
    async connect(agent, options = {}) {
      const client = new Client(
        { name: `test-${agent}`, version: '1.0.0' },
        {
          ...(options.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
          ...options.client,
        },
      );
      options.setup?.(client);
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { 'x-test-agent': agent } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gateway.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

/** A policy section letting `subject` (an agent, or `*` for everyone) call everything on every server. */
/** A raw JSON-RPC POST to the harness's /mcp as `agent` (the harness takes the agent from x-test-agent). */
export function postAs(
  h: Pick<Harness, 'url'>,
  agent: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'x-test-agent': agent,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

/** The 2026-07-28 `_meta` envelope of a raw modern request. */
export const modernEnvelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

export function allowAllPolicy(subject: string): string {
  return `policy:
  rules:
    - id: ${subject === '*' ? 'all' : `${subject}-all`}
      subjects: [${JSON.stringify(subject)}]
      servers: ['*']
      allow: ['*']
`;
}

/** A stdio server entry for the test child. */
export function childServer(
  id: string,
  extra: { namespace?: string; args?: string[]; restart?: string } = {},
): string {
  const args = [fixture, '--name', id, ...(extra.args ?? [])].map((a) => JSON.stringify(a)).join(', ');
  return [
    `  - id: ${id}`,
    ...(extra.namespace === undefined ? [] : [`    namespace: ${JSON.stringify(extra.namespace)}`]),
    `    transport: stdio`,
    `    command: ${JSON.stringify(node)}`,
    `    args: [${args}]`,
    `    restart: ${extra.restart ?? '{ backoffMs: 50, maxBackoffMs: 200 }'}`,
  ].join('\n');
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A test-child HTTP server in its own process (`--http`), on `port` (0 = any). */
export interface RunningChild {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startHttpChild(name: string, port = 0, extra: string[] = []): Promise<RunningChild> {
  const child = spawn(node, [fixture, '--http', '--name', name, '--port', String(port), ...extra], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', () => reject(new Error('child exited before listening')));
  });
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/**
 * For a test file: one test-child HTTP server (`startHttpChild(name)`) and a harness whose config
 * `yaml(url)` names it, started before the file's tests and stopped after them.
 */
export function harnessWithHttpChild(
  name: string,
  yaml: (url: string) => string,
  tuning: Parameters<typeof startHarness>[1] = {},
): { readonly h: Harness; readonly child: RunningChild } {
  const held: { h?: Harness; child?: RunningChild } = {};
  beforeAll(async () => {
    held.child = await startHttpChild(name);
    held.h = await startHarness(yaml(held.child.url), tuning);
  });
  afterAll(async () => {
    await held.h?.close();
    await held.child?.stop();
  });
  return {
    get h() {
      return held.h!;
    },
    get child() {
      return held.child!;
    },
  };
}
