// @modelcontextprotocol/server-everything as a stdio child of a real proxy (startProxy, agent token), driven
// by the SDK v1 client (@modelcontextprotocol/sdk) and the SDK v2 client (both eras), against the same
// server reached directly over stdio by the same clients: echo, sampling, elicitation, progress, a resource
// subscription, prompts and completion give the same results through the proxy as directly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { everythingBin, node, textOf, waitFor } from './harness.ts';

/** What one client saw of server-everything, in a form that does not depend on the path it took. */
interface Seen {
  tools: string[];
  echo: string;
  sampling: string;
  elicitation: string;
  progress: number;
  prompts: string[];
  prompt: string;
  completion: string[];
  updated: string;
}

const uri = 'demo://resource/dynamic/text/1';
/**
 * server-everything registers its tools by what its client declared at initialize. Through the proxy its
 * client is the proxy, which declares what it can relay (sampling, elicitation in both modes, roots), so
 * the clients declare the same here: the comparison is of the path, not of two different clients.
 */
const capabilities = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };
const sampled = {
  model: 'stub-model',
  role: 'assistant',
  content: { type: 'text', text: 'a stubbed completion' },
};
const elicited = { action: 'accept', content: { name: 'Ada' } };

/** The steps, written once against what both client generations share. */
interface Driver {
  listTools(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>, onProgress?: () => void): Promise<string>;
  listPrompts(): Promise<string[]>;
  getPrompt(name: string, args: Record<string, string>): Promise<string>;
  complete(prompt: string, argument: string, value: string): Promise<string[]>;
  /** Subscribes to `uri` and resolves with the URI of the first update heard. */
  subscribe(): Promise<string>;
  close(): Promise<void>;
}

/**
 * All but the progress count: directly over stdio the v1 client can miss the last progress notification
 * (written just before the result, it reaches a handler already gone); through the proxy every one of
 * them arrives before the result. Progress is checked on its own.
 */
function same(seen: Seen): Omit<Seen, 'progress'> {
  const { progress: _progress, ...rest } = seen;
  return rest;
}

async function drive(driver: Driver): Promise<Seen> {
  try {
    let progress = 0;
    const progressed = await driver.call(
      'trigger-long-running-operation',
      { duration: 1, steps: 3 },
      () => (progress += 1),
    );
    expect(progressed).toContain('completed');
    const seen: Seen = {
      tools: (await driver.listTools()).sort(),
      echo: await driver.call('echo', { message: 'same both ways' }),
      sampling: await driver.call('trigger-sampling-request', { prompt: 'hello' }),
      elicitation: await driver.call('trigger-elicitation-request', {}),
      progress,
      prompts: (await driver.listPrompts()).sort(),
      prompt: await driver.getPrompt('args-prompt', { city: 'Paris', state: 'Texas' }),
      completion: await driver.complete('completable-prompt', 'department', 'E'),
      updated: '',
    };
    seen.updated = await driver.subscribe();
    return seen;
  } finally {
    await driver.close();
  }
}

async function v1Driver(transport: StdioV1 | HttpV1): Promise<Driver> {
  const client = new ClientV1({ name: 'v1', version: '1' }, { capabilities });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
  client.setRequestHandler(CreateMessageRequestSchema, () => sampled as never);
  client.setRequestHandler(ElicitRequestSchema, () => elicited as never);
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  await client.connect(transport);
  return {
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, onProgress) =>
      textOf(
        await client.callTool({ name, arguments: args }, undefined, {
          timeout: 20_000,
          ...(onProgress ? { onprogress: onProgress } : {}),
        }),
      ),
    listPrompts: async () => (await client.listPrompts()).prompts.map((p) => p.name),
    getPrompt: async (name, args) =>
      JSON.stringify((await client.getPrompt({ name, arguments: args })).messages),
    complete: async (prompt, argument, value) =>
      (
        await client.complete({
          ref: { type: 'ref/prompt', name: prompt },
          argument: { name: argument, value },
        })
      ).completion.values,
    subscribe: async () => {
      await client.subscribeResource({ uri });
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await waitFor(() => updates.length > 0, 15_000);
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      return updates[0]!;
    },
    close: () => client.close(),
  };
}

async function v2Driver(transport: StdioV2 | HttpV2, era: 'legacy' | 'modern'): Promise<Driver> {
  const client = new ClientV2(
    { name: 'v2', version: '1' },
    {
      capabilities,
      ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
    },
  );
  client.setRequestHandler('roots/list', () => ({ roots: [] }));
  client.setRequestHandler('sampling/createMessage', () => sampled as never);
  client.setRequestHandler('elicitation/create', () => elicited as never);
  const updates: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
  await client.connect(transport);
  return {
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, onProgress) =>
      textOf(
        await client.callTool(
          { name, arguments: args },
          { timeout: 20_000, ...(onProgress ? { onprogress: onProgress } : {}) },
        ),
      ),
    listPrompts: async () => (await client.listPrompts()).prompts.map((p) => p.name),
    getPrompt: async (name, args) =>
      JSON.stringify((await client.getPrompt({ name, arguments: args })).messages),
    complete: async (prompt, argument, value) =>
      (
        await client.complete({
          ref: { type: 'ref/prompt', name: prompt },
          argument: { name: argument, value },
        })
      ).completion.values,
    subscribe: async () => {
      const listen = era === 'modern' ? await client.listen({ resourceSubscriptions: [uri] }) : undefined;
      if (listen === undefined) await client.subscribeResource({ uri });
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await waitFor(() => updates.length > 0, 15_000);
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await listen?.close();
      return updates[0]!;
    },
    close: () => client.close(),
  };
}

const stdio = { command: node, args: [everythingBin, 'stdio'], stderr: 'ignore' as const };

describe('server-everything through the proxy, with the SDK v1 and v2 clients, against it directly', () => {
  let proxy: RunningProxy | undefined;
  let workDir: string | undefined;
  let token = '';
  const direct: Record<string, Seen> = {};

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-everything-clients-'));
    await generateKeyPair(path.join(workDir, 'keys'));
    const config = parseConfig(
      `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  keysDir: ./keys
  limits: { callTimeoutMs: 20000 }
servers:
  - id: everything
    namespace: ''
    transport: stdio
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(everythingBin)}, stdio]
agents:
  v1: {}
  v2: {}
policy:
  rules:
    - id: all
      subjects: [v1, v2]
      servers: [everything]
      allow: ['**']
`,
      path.join(workDir, 'mcpcp.yaml'),
      workDir,
    );
    proxy = await startProxy({ config, logger: createSilentLogger() });
    const signer = await loadSigner(path.join(workDir, 'keys'));
    const issue = (agent: string) =>
      issueAgentToken(signer, {
        issuer: proxy!.urls.issuer,
        audience: proxy!.urls.resource,
        agent,
        ttlSeconds: 600,
      });
    token = await issue('v1');
    // Directly: each client starts its own server-everything, so they can run at once.
    const [v1, v2] = await Promise.all([
      v1Driver(new StdioV1(stdio)).then(drive),
      v2Driver(new StdioV2(stdio), 'legacy').then(drive),
    ]);
    direct.v1 = v1;
    direct.v2 = v2;
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const headers = () => ({ requestInit: { headers: { Authorization: `Bearer ${token}` } } });

  it('gives the SDK v1 client the same results as directly', async () => {
    const seen = await drive(await v1Driver(new HttpV1(new URL(proxy!.mcpUrl), headers())));
    expect(same(seen)).toEqual(same(direct.v1!));
    expect(seen.sampling).toContain('a stubbed completion');
    expect(seen.elicitation).toContain('Ada');
    expect(seen.progress).toBe(3);
    expect(seen.updated).toBe(uri);
    expect(seen.completion.length).toBeGreaterThan(0);
  }, 60_000);

  it.each(['legacy', 'modern'] as const)(
    'gives the SDK v2 client (%s era) the same results as directly',
    async (era) => {
      const seen = await drive(await v2Driver(new HttpV2(new URL(proxy!.mcpUrl), headers()), era));
      expect(same(seen)).toEqual(same(direct.v2!));
      expect(seen.sampling).toContain('a stubbed completion');
      expect(seen.progress).toBe(3);
    },
    60_000,
  );
});
