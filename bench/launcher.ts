// Launcher benchmark: (1) default fleet cold start to all-ready, against the children's own start time;
// (2) time from a child crash (SIGKILL) to its tools being back — through the proxy for the default fleet's
// proxy-supervised stdio child, and directly for a launcher-supervised child. Prints medians of N runs.
// Run: node bench/launcher.ts [runs=5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { loadConfig } from '../config/load.ts';
import type { HttpServerConfig } from '../config/schema.ts';
import { createSilentLogger } from '../lib/log.ts';
import { ensureDefaultFleet } from '../launcher/fleet/default-fleet.ts';
import { startFleet } from '../launcher/fleet/fleet.ts';
import { childTokenSource, superviseHttpChild } from '../launcher/fleet/launched.ts';
import { supervise, type ReadyChild } from '../supervisor/supervisor.ts';

const runs = Number(process.argv[2] ?? 5);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (values: number[]) =>
  `median ${median(values)} ms (min ${Math.min(...values)}, max ${Math.max(...values)}, n=${values.length})`;

const dataDir = await mkdtemp(join(tmpdir(), 'mcpcp-bench-'));
try {
  const files = await ensureDefaultFleet(dataDir);
  const config = await loadConfig(files.configFile);

  // The children's own start time: spawn + MCP handshake + tools/list, one child alone, no proxy. The
  // launcher starts the HTTP children it launches (in parallel) before the proxy, which starts the stdio
  // children (in parallel), so the fleet's floor is the slowest HTTP child plus the slowest stdio child.
  const own: Record<string, number[]> = {};
  const launched = config.servers.filter(
    (server): server is HttpServerConfig => server.transport === 'http' && server.start !== undefined,
  );
  const tokens = await childTokenSource(config, launched);
  for (let i = 0; i < runs; i += 1) {
    for (const server of launched) {
      const child = superviseHttpChild(
        server,
        {
          config,
          configFile: files.configFile,
          dataDir,
          logger: createSilentLogger(),
          onEvent: () => undefined,
        },
        tokens,
      );
      const t0 = performance.now();
      const outcome = await child.start();
      if (!outcome.ok) throw new Error(`${server.id}: ${outcome.error}`);
      (own[server.id] ??= []).push(Math.round(performance.now() - t0));
      await child.stop();
    }
    for (const server of config.servers) {
      if (server.transport !== 'stdio') continue;
      const child = supervise({
        id: server.id,
        transport: 'stdio',
        command: server.command,
        args: server.args,
        env: server.env,
      });
      const t0 = performance.now();
      const outcome = await child.start();
      if (!outcome.ok) throw new Error(`${server.id}: ${outcome.error}`);
      (own[server.id] ??= []).push(Math.round(performance.now() - t0));
      await child.stop();
    }
  }

  // Fleet cold start: everything from "up" to all children ready behind a listening proxy.
  const cold: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    const fleet = await startFleet({
      config,
      configFile: files.configFile,
      dataDir,
      port: 0,
      logger: createSilentLogger(),
      onEvent: () => undefined,
    });
    const allReady = fleet.status().servers.every((row) => row.state === 'ready');
    cold.push(Math.round(performance.now() - t0));
    if (!allReady) throw new Error('fleet not all-ready after start');
    await fleet.stop('bench');
  }

  // Crash → tools back through the proxy (default fleet, memory child, supervised by the proxy). Each crash is
  // measured as the first in its restart window (windowMs 1 s, 1.5 s apart), so backoff does not compound.
  const throughProxy: number[] = [];
  {
    const oneSecondWindow = {
      ...config,
      servers: config.servers.map((server) => ({
        ...server,
        restart: { ...server.restart, windowMs: 1_000 },
      })),
    };
    const fleet = await startFleet({
      config: oneSecondWindow,
      configFile: files.configFile,
      dataDir,
      port: 0,
      logger: createSilentLogger(),
      onEvent: () => undefined,
    });
    const status = fleet.status();
    const signer = await loadSigner(files.keysDir);
    const token = await issueAgentToken(signer, {
      issuer: status.proxy.issuer,
      audience: status.proxy.resource,
      agent: 'agent_name2',
      ttlSeconds: 600,
    });
    const client = new Client({ name: 'bench', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(status.proxy.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const memoryTools = async () =>
      (await client.listTools(undefined, { cacheMode: 'bypass' })).tools.filter((t) =>
        t.name.startsWith('memory_'),
      ).length;
    for (let i = 0; i < runs; i += 1) {
      await sleep(1_500); // let the restart window's backoff settle between crashes
      const row = fleet.status().servers.find((s) => s.id === 'memory')!;
      const t0 = performance.now();
      process.kill(row.pid!, 'SIGKILL');
      for (;;) {
        const now = fleet.status().servers.find((s) => s.id === 'memory')!;
        if (
          now.pid !== undefined &&
          now.pid !== row.pid &&
          now.state === 'ready' &&
          (await memoryTools()) > 0
        )
          break;
        if (performance.now() - t0 > 30_000) throw new Error('memory tools did not come back');
        await sleep(10);
      }
      throughProxy.push(Math.round(performance.now() - t0));
    }
    await client.close();
    await fleet.stop('bench');
  }

  // Crash → tools back for a launcher-supervised child (the supervisor's own restart path, backoffMs 250).
  const supervised: number[] = [];
  {
    const memory = config.servers.find((s) => s.id === 'memory')!;
    if (memory.transport !== 'stdio') throw new Error('unexpected default config');
    let onReady: ((ready: ReadyChild) => void) | undefined;
    const child = supervise(
      {
        id: 'memory',
        transport: 'stdio',
        command: memory.command,
        args: memory.args,
        env: memory.env,
        restart: {
          policy: 'on-failure',
          maxRestarts: 100,
          windowMs: 1_000,
          backoffMs: 250,
          maxBackoffMs: 10_000,
        },
      },
      { onReady: (ready) => onReady?.(ready) },
    );
    await child.start();
    for (let i = 0; i < runs; i += 1) {
      await sleep(1_500);
      const back = new Promise<ReadyChild>((resolve) => (onReady = resolve));
      const t0 = performance.now();
      process.kill(child.status().pid!, 'SIGKILL');
      const ready = await back;
      if (ready.tools.length === 0) throw new Error('no tools after restart');
      supervised.push(Math.round(performance.now() - t0));
    }
    await child.stop();
  }

  const slowest = (transport: 'http' | 'stdio') =>
    Math.max(
      0,
      ...config.servers.filter((x) => x.transport === transport && own[x.id]).map((x) => median(own[x.id]!)),
    );
  const floor = slowest('http') + slowest('stdio');
  console.log(`launcher benchmark (${runs} runs each, Node ${process.version}, ${process.platform})`);
  for (const [id, values] of Object.entries(own))
    console.log(`  child own start (spawn+handshake+tools/list) ${id.padEnd(10)} ${fmt(values)}`);
  console.log(`  default fleet cold start to all-ready       ${fmt(cold)}`);
  console.log(
    `    children's own floor (slowest launched HTTP child + slowest stdio child): ${floor} ms; launcher overhead: ${median(cold) - floor} ms (target ≤ 1500 ms)`,
  );
  console.log(`  crash → tools back, via proxy (memory)      ${fmt(throughProxy)}`);
  console.log(
    `    beyond the child's own start: ${median(throughProxy) - median(own.memory ?? [0])} ms (target ≤ 1000 ms)`,
  );
  console.log(`  crash → ready again, launcher supervisor    ${fmt(supervised)}`);
  console.log(
    `    beyond the child's own start: ${median(supervised) - median(own.memory ?? [0])} ms (includes 125–250 ms jittered backoff)`,
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
