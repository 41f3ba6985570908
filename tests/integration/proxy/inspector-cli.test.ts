// The MCP Inspector's CLI (@modelcontextprotocol/inspector --cli, a real third-party client) lists and calls
// tools through a real proxy (agent token in a header), in both protocol eras it can pin.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { cachedPackage } from '../../helpers/cached-package.ts';
import { everythingBin, node } from './harness.ts';

/** The Inspector version this test drives (installed into .cache/ on first use; see tests/helpers/cached-package.ts). */
const INSPECTOR = '2.12.0';

let inspector = '';
let proxy: RunningProxy | undefined;
let workDir: string | undefined;
let token = '';

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [inspector, '--cli', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const dir = await cachedPackage('@modelcontextprotocol/inspector', INSPECTOR);
  inspector = path.join(dir, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
  workDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-inspector-'));
  await generateKeyPair(path.join(workDir, 'keys'));
  const config = parseConfig(
    `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  keysDir: ./keys
servers:
  - id: everything
    transport: stdio
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(everythingBin)}, stdio]
agents:
  inspector: {}
policy:
  rules:
    - id: echo-only
      subjects: [inspector]
      servers: [everything]
      allow: ['everything_echo', 'everything_get-sum']
`,
    path.join(workDir, 'mcpcp.yaml'),
    workDir,
  );
  proxy = await startProxy({ config, logger: createSilentLogger() });
  token = await issueAgentToken(await loadSigner(path.join(workDir, 'keys')), {
    issuer: proxy.urls.issuer,
    audience: proxy.urls.resource,
    agent: 'inspector',
    ttlSeconds: 600,
  });
}, 240_000);

afterAll(async () => {
  await proxy?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe.each(['legacy', 'modern'] as const)(
  'the MCP Inspector CLI through the proxy (--protocol-era %s)',
  (era) => {
    const common = () => [
      proxy!.mcpUrl,
      '--header',
      `Authorization: Bearer ${token}`,
      '--protocol-era',
      era,
      '--format',
      'json',
      '-q',
    ];

    it('lists the tools the policy allows, and only those', async () => {
      const run = await runCli([...common(), '--method', 'tools/list']);
      expect(run.code, run.stderr).toBe(0);
      const names = (JSON.parse(run.stdout) as { result: { tools: Array<{ name: string }> } }).result.tools
        .map((t) => t.name)
        .sort();
      expect(names).toEqual(['everything_echo', 'everything_get-sum']);
    });

    it('calls a tool', async () => {
      const run = await runCli([
        ...common(),
        '--method',
        'tools/call',
        '--tool-name',
        'everything_echo',
        '--tool-arg',
        'message=through the proxy',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const result = (JSON.parse(run.stdout) as { result: { content: Array<{ text: string }> } }).result;
      expect(result.content[0]!.text).toBe('Echo: through the proxy');
    });
  },
);

it('is refused by the proxy without a token', async () => {
  const run = await runCli([proxy!.mcpUrl, '--format', 'json', '-q', '--method', 'tools/list']);
  expect(run.code).not.toBe(0);
});
