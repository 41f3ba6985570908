// A fleet in-process: a launched HTTP child that crashes comes back at the same URL, and the proxy shows its
// tools again; stopping the fleet leaves no process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { loadConfig } from '../../../config/load.ts';
import { startFleet, type Fleet, type FleetEvent } from '../../../launcher/fleet/fleet.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { assertNoFleet } from '../../../launcher/fleet/admin-socket.ts';
import { commands } from '../../../launcher/commands/index.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { httpChild, isGone, stdioChild, waitFor } from './helpers.ts';

addCommands(...commands);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('fleet', () => {
  it('restarts a crashed launched HTTP child at the same URL and the proxy shows its tools again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-fleet-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await generateKeyPair(join(dir, 'keys'));
    const file = join(dir, 'mcpcp.yaml');
    await writeFile(
      file,
      `proxy: { keysDir: ./keys }
servers:
  - id: web
    transport: http
    url: http://127.0.0.1:0/mcp
    start: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(httpChild)}] }
    restart: { backoffMs: 20 }
agents: { alice: {} }
policy:
  rules:
    - { id: alice-web, subjects: [alice], servers: [web], allow: ['web_*'] }
`,
    );
    const config = await loadConfig(file);
    const events: FleetEvent[] = [];
    const fleet: Fleet = await startFleet({
      config,
      configFile: file,
      dataDir: join(dir, 'data'),
      port: 0,
      logger: createSilentLogger(),
      onEvent: (event) => events.push(event),
    });
    cleanups.push(() => fleet.stop('test'));
    const status = fleet.status();
    const before = status.servers[0]!;
    expect(before).toMatchObject({ id: 'web', state: 'ready', tools: 1, owner: 'launcher' });

    const signer = await loadSigner(join(dir, 'keys'));
    const token = await issueAgentToken(signer, {
      issuer: status.proxy.issuer,
      audience: status.proxy.resource,
      agent: 'alice',
      ttlSeconds: 300,
    });
    const client = new Client({ name: 'test', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(status.proxy.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    cleanups.push(() => client.close());
    const names = async () =>
      (await client.listTools(undefined, { cacheMode: 'bypass' }).catch(() => ({ tools: [] }))).tools.map(
        (tool) => tool.name,
      );
    expect(await names()).toEqual(['web_greet']);

    process.kill(before.pid!, 'SIGKILL');
    await waitFor(
      () => {
        const row = fleet.status().servers[0]!;
        return row.state === 'ready' && row.pid !== before.pid;
      },
      10_000,
      'web to be restarted',
    );
    const after = fleet.status().servers[0]!;
    expect(after.address).toBe(before.address);
    expect(after.restarts).toBe(1);
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'child-state', id: 'web', state: 'down' }),
    );
    let listed: string[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(listed = await names()).includes('web_greet')) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toEqual(['web_greet']);
    const result = await client.callTool({ name: 'web_greet', arguments: { who: 'alice' } });
    expect(JSON.stringify(result)).toContain('greet: hello alice');

    await client.close();
    await fleet.stop('test');
    expect(await isGone(after.pid!)).toBe(true);
  });

  it('holds the data folder from its first moment: a second fleet is refused while the first still starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-fleet-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'mcpcp.yaml');
    await writeFile(
      file,
      `proxy: { keysDir: ./keys }
servers:
  - id: slow
    transport: http
    url: http://127.0.0.1:0/mcp
    start: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(httpChild)}, --listen-after-ms, '2000'] }
`,
    );
    const config = await loadConfig(file);
    const dataDir = join(dir, 'data');
    const firstEvents: FleetEvent[] = [];
    const first = startFleet({
      config,
      configFile: file,
      dataDir,
      port: 0,
      logger: createSilentLogger(),
      onEvent: (event) => firstEvents.push(event),
    });
    cleanups.push(async () => (await first.catch(() => undefined))?.stop('test'));
    await waitFor(
      () => firstEvents.some((e) => e.event === 'child-starting'),
      10_000,
      'the first fleet to start',
    );
    await expect(assertNoFleet(dataDir)).rejects.toMatchObject({
      code: 'ERR_FLEET_RUNNING',
      message: expect.stringContaining('still starting'),
    });
    const secondEvents: FleetEvent[] = [];
    await expect(
      startFleet({
        config,
        configFile: file,
        dataDir,
        port: 0,
        logger: createSilentLogger(),
        onEvent: (event) => secondEvents.push(event),
      }),
    ).rejects.toMatchObject({ code: 'ERR_FLEET_RUNNING' });
    expect(secondEvents).toEqual([]);
    const fleet = await first;
    expect(fleet.status().servers[0]).toMatchObject({ id: 'slow', state: 'ready', restarts: 0 });
    expect(firstEvents.filter((e) => e.event === 'child-starting')).toHaveLength(1);
  });

  it('lets an in-flight call finish before stopping the children', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-fleet-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await generateKeyPair(join(dir, 'keys'));
    const file = join(dir, 'mcpcp.yaml');
    await writeFile(
      file,
      `proxy: { keysDir: ./keys }
servers:
  - id: local
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(stdioChild)}, --tools, slow, --slow-ms, '800']
agents: { alice: {} }
policy:
  rules:
    - { id: alice-local, subjects: [alice], servers: [local], allow: ['local_*'] }
`,
    );
    const fleet = await startFleet({
      config: await loadConfig(file),
      configFile: file,
      dataDir: join(dir, 'data'),
      port: 0,
      logger: createSilentLogger(),
      onEvent: () => undefined,
      drainTimeoutMs: 5_000,
    });
    cleanups.push(() => fleet.stop('test'));
    const status = fleet.status();
    const pid = status.servers[0]!.pid!;
    const signer = await loadSigner(join(dir, 'keys'));
    const token = await issueAgentToken(signer, {
      issuer: status.proxy.issuer,
      audience: status.proxy.resource,
      agent: 'alice',
      ttlSeconds: 300,
    });
    const client = new Client({ name: 'test', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(status.proxy.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const call = client.callTool({ name: 'local_slow', arguments: {} });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const stopped = fleet.stop('test');
    const result = await call;
    expect(JSON.stringify(result)).toContain('slow done after 800 ms');
    await stopped;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await isGone(pid)).toBe(true);
    await client.close().catch(() => undefined);
  });

  it('mcpcp demo exits 1 and names the tool when the proxy shows what the policy hides', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-fleet-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await generateKeyPair(join(dir, 'keys'));
    const servers = `servers:
  - id: local
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(stdioChild)}]
agents: { alice: {} }
`;
    const file = join(dir, 'mcpcp.yaml');
    await writeFile(
      file,
      `proxy: { keysDir: ./keys }\n${servers}policy:\n  rules:\n    - { id: all, subjects: [alice], servers: [local], allow: ['local_*'] }\n`,
    );
    // The config the demo judges by hides local_add; the running proxy does not.
    const judge = join(dir, 'judge.yaml');
    await writeFile(
      judge,
      `proxy: { keysDir: ./keys }\n${servers}policy:\n  rules:\n    - { id: echo-only, subjects: [alice], servers: [local], allow: [local_echo] }\n`,
    );
    const fleet = await startFleet({
      config: await loadConfig(file),
      configFile: file,
      dataDir: join(dir, 'data'),
      port: 0,
      logger: createSilentLogger(),
      onEvent: () => undefined,
    });
    cleanups.push(() => fleet.stop('test'));
    const { proxy } = fleet.status();
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => stderr.push(String(chunk)) > 0;
    let code: number;
    try {
      code = await runCli(['demo', '--url', proxy.mcpUrl, '--config', judge, '--agents', 'alice', '--json']);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(1);
    expect(stderr.join('')).toContain('alice sees local_add, which the policy hides');
    expect(stderr.join('')).toContain('(ERR_DEMO_MISMATCH)');
    process.exitCode = undefined;

    expect(
      await runCli(['demo', '--url', proxy.mcpUrl, '--config', file, '--agents', 'alice', '--json']),
    ).toBe(0);
  });
});
