// The demo doubles as a smoke test, so it must fail when the proxy shows an agent LESS than the policy
// allows, not only more. A real proxy runs one policy; the demo judges it against another.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { runDemo } from '../../../client/demo.ts';
import { loadConfig, parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy } from '../../../proxy/start.ts';

const testChild = new URL('../../fixtures/servers/test-child.ts', import.meta.url).pathname;
const fleet = (rules: string) => `proxy: { keysDir: ./keys, listen: { host: 127.0.0.1, port: 0 } }
servers:
  - { id: local, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(testChild)}, --name, local] }
agents: { alice: {}, bob: {} }
policy:
  rules:
${rules}`;

let dir: string;
let proxy: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpcp-demo-judge-'));
  await generateKeyPair(join(dir, 'keys'));
  const file = join(dir, 'mcpcp.yaml');
  // The running proxy shows alice only local_echo and bob nothing.
  await writeFile(
    file,
    fleet("    - { id: alice-echo, subjects: [alice], servers: [local], allow: ['local_echo'] }\n"),
  );
  proxy = await startProxy({
    config: await loadConfig(file),
    configFile: file,
    logger: createSilentLogger(),
    port: 0,
  });
  while (!proxy.gateway.isReady()) await new Promise((resolve) => setTimeout(resolve, 25));
}, 30_000);

afterAll(async () => {
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

const judge = async (rules: string) =>
  runDemo({
    mcpUrl: proxy.mcpUrl,
    issuer: proxy.urls.issuer,
    audience: proxy.urls.resource,
    config: parseConfig(fleet(rules), join(dir, 'judge.yaml'), dir),
    signer: await loadSigner(join(dir, 'keys')),
    agents: ['alice', 'bob'],
  });

describe('mcpcp demo as a smoke test', () => {
  it('passes when the views match the policy', async () => {
    const result = await judge(
      "    - { id: alice-echo, subjects: [alice], servers: [local], allow: ['local_echo'] }\n",
    );
    expect(result.mismatches).toEqual([]);
    expect(result.agents.map((a) => a.tools)).toEqual([['local_echo'], []]);
  });

  it('fails when an agent sees fewer tools than the policy allows', async () => {
    const result = await judge(
      "    - { id: alice-echo, subjects: [alice], servers: [local], allow: ['local_echo'] }\n" +
        "    - { id: bob-echo, subjects: [bob], servers: [local], allow: ['local_echo'] }\n",
    );
    expect(result.mismatches).toEqual(expect.arrayContaining([expect.stringMatching(/^bob sees no tools/)]));
    expect(result.mismatches).toEqual(
      expect.arrayContaining(['bob does not see local_echo, which the policy allows']),
    );
  });
});
