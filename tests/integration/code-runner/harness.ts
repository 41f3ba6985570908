// A real proxy in front of a real code-runner server (in this process, its interpreters as child processes), with
// agents holding their own agent tokens: the proxy verifies them and sends the code runner its internal child JWT.
// Tests call tools as an agent and read the structured result, the text, and the log/progress notifications.
// It must not fake any part of the path.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  LOG_LEVEL_META_KEY,
  StreamableHTTPClientTransport,
  type CallToolResult,
} from '@modelcontextprotocol/client';
import { generateKeyPair } from '../../../auth/keys.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import type { RunOutput } from '../../../servers/code-runner/limits.ts';
import { codeRunnerServerSpec } from '../../../servers/code-runner/server.ts';
import { issueOwnToken } from '../channels/proxy-agents.ts';

const issuer = 'http://mcpcp.test';

export interface CodeAgent {
  agent: string;
  client: Client;
  /** Calls `code-runner_<tool>`; returns the raw result. */
  call(
    tool: string,
    args: Record<string, unknown>,
    options?: { progress?: number[] },
  ): Promise<CallToolResult>;
  /** Calls a run tool and returns its structured result (with the text rendering beside it). */
  run(
    tool: 'run_python' | 'run_javascript',
    args: Record<string, unknown>,
  ): Promise<RunOutput & { text: string }>;
  /** Log notifications this agent received ({stream, text} data). */
  logs: Array<{ stream: string; text: string }>;
  close(): Promise<void>;
}

export interface CodeRunnerHarness {
  dir: string;
  runner: RunningKitServer;
  proxy: RunningProxy;
  connect(agent: string): Promise<CodeAgent>;
  /** Resolves once the Python pool has all its interpreters ready (asked through the proxy, as runtimes). */
  whenWarm(): Promise<void>;
  close(): Promise<void>;
}

export async function startCodeRunnerHarness(flags: Record<string, string> = {}): Promise<CodeRunnerHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-code-runner-'));
  const keysDir = join(dir, 'keys');
  await generateKeyPair(keysDir);
  const runner = await startKitServer(codeRunnerServerSpec, {
    dataDir: join(dir, 'data'),
    keysDir,
    issuer,
    port: 0,
    logger: createSilentLogger(),
    flags,
  });
  const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
  limits: { callTimeoutMs: 120000 }
servers:
  - id: code-runner
    transport: http
    url: ${runner.url}
    firstParty: true
    protocol: 2025-11-25
agents:
  alice: {}
  bob: {}
  mallory: {}
policy:
  rules:
    - id: coders
      subjects: [alice, bob]
      servers: [code-runner]
      allow: ['code-runner_*']
`;
  const configFile = join(dir, 'mcpcp.yaml');
  await writeFile(configFile, yaml);
  const proxy = await startProxy({ config: parseConfig(yaml, configFile), logger: createSilentLogger() });
  const open: CodeAgent[] = [];
  const harness: CodeRunnerHarness = {
    dir,
    runner,
    proxy,
    async whenWarm() {
      const probe = await harness.connect('alice');
      for (;;) {
        const report = (await probe.call('runtimes', {})).structuredContent as {
          python: { pool?: { ready: number; size: number } };
        };
        const pool = report.python.pool;
        if (pool === undefined || pool.ready >= pool.size) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await probe.close();
    },
    async connect(agent) {
      const token = await issueOwnToken(keysDir, proxy.urls, agent);
      const client = new Client({ name: agent, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(proxy.urls.resource), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      const logs: CodeAgent['logs'] = [];
      client.setNotificationHandler('notifications/message', (n) => {
        logs.push(n.params.data as { stream: string; text: string });
      });
      const call: CodeAgent['call'] = async (tool, args, options) =>
        await client.callTool(
          // a 2026-era caller asks for log notifications per request
          { name: `code-runner_${tool}`, arguments: args, _meta: { [LOG_LEVEL_META_KEY]: 'info' } },
          {
            timeout: 120_000,
            ...(options?.progress ? { onprogress: (p) => void options.progress!.push(p.progress) } : {}),
          },
        );
      const handle: CodeAgent = {
        agent,
        client,
        call,
        async run(tool, args) {
          const result = await call(tool, args);
          const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
          if (result.structuredContent === undefined) throw new Error(`no structured result: ${text}`);
          return { ...(result.structuredContent as RunOutput), text };
        },
        logs,
        close: () => client.close(),
      };
      open.push(handle);
      return handle;
    },
    async close() {
      await Promise.allSettled(open.map((agent) => agent.close()));
      await proxy.close();
      await runner.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
