// Proxy benchmark: a tools/call echo through MCPCP (auth + policy + namespacing + audit on, HTTP children)
// against the same echo server called directly, from one run on this machine.
//   node bench/proxy.ts [--duration 5000] [--sessions 1000] [--child-protocol auto|2025-11-25] [--json-only]
//                       [--memory-only]
// Prints a table and one JSON line. See bench/README.md for what each figure means.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { freshSession, load, openMany, percentile } from './load.ts';
import { destroyAgent, type FrontEra } from './mcp-http-client.ts';
import { cpuPerCall, proxyStats, startBaseline, startEchoServers, startProxyProcess } from './processes.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5000' },
    sessions: { type: 'string', default: '1000' },
    'json-only': { type: 'boolean', default: false },
    /** Only the memory figures (start, idle sessions): no load phases, little CPU. */
    'memory-only': { type: 'boolean', default: false },
    /** Writes a V8 CPU profile of the proxy process into this folder (for finding where the time goes). */
    'cpu-prof-dir': { type: 'string' },
    /**
     * The proxy's protocol toward the echo children: auto (2026-07-28, JSON answers) or 2025-11-25 (one
     * session each; the echo server then answers every call with an SSE stream, as 2025-era SDK servers do).
     */
    'child-protocol': { type: 'string', default: 'auto' },
    /** Extra Node flags for the proxy process, space-separated (e.g. "--max-semi-space-size=4"). */
    'proxy-flags': { type: 'string', default: '' },
    /**
     * The revision the load generator speaks to every endpoint: 2025-11-25 (a session each) or 2026-07-28
     * (no sessions: each request carries the `_meta` envelope and Mcp-Method / Mcp-Name headers).
     */
    'front-protocol': { type: 'string', default: '2025-11-25' },
  },
});
if (values['front-protocol'] !== '2025-11-25' && values['front-protocol'] !== '2026-07-28') {
  console.error('--front-protocol must be 2025-11-25 or 2026-07-28');
  process.exit(2);
}
const era: FrontEra = values['front-protocol'] === '2026-07-28' ? 'modern' : 'legacy';
const durationMs = Number(values.duration);
const idleSessions = Number(values.sessions);
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpcp-bench-'));
  const children: ChildProcess[] = [];
  try {
    const keysDir = path.join(dir, 'keys');
    await generateKeyPair(keysDir);
    const signer = await loadSigner(keysDir);
    const echo = await startEchoServers(4);
    children.push(echo.child);
    const servers = echo.urls
      .map(
        (url, i) =>
          `  - id: e${i + 1}\n    transport: http\n    url: ${url}\n    protocol: ${values['child-protocol']}\n`,
      )
      .join('');
    const configFile = path.join(dir, 'mcpcp.yaml');
    await writeFile(
      configFile,
      `proxy:
  listen: { host: 127.0.0.1, port: 0 }
  publicUrl: http://127.0.0.1:0
  keysDir: ./keys
servers:
${servers}agents:
  bench: {}
policy:
  rules:
    - id: bench-all
      subjects: [bench]
      servers: [e1, e2, e3, e4]
      allow: ['e*_*']
      deny: ['e*_length']
      arguments:
        e1_echo: { message: { maxLength: 1000 } }
`,
    );
    const proxy = await startProxyProcess(configFile, [
      ...(values['proxy-flags'] ?? '').split(' ').filter((flag) => flag !== ''),
      ...(values['cpu-prof-dir'] === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof-dir']}`]),
    ]);
    children.push(proxy.child);
    const token = await issueAgentToken(signer, {
      issuer: proxy.issuer,
      audience: proxy.resource,
      agent: 'bench',
      ttlSeconds: 3600,
    });
    const atStart = await proxyStats(proxy.child);
    const directUrl = echo.urls[0]!;

    // Idle sessions first, on a fresh proxy: after the load phases V8 keeps heap slack that is not theirs.
    say(`${idleSessions} idle sessions`);
    const idle = await openMany(proxy.mcpUrl, token, idleSessions, era);
    const idleAfter = await proxyStats(proxy.child);
    say(`proxy memory at start ${JSON.stringify(atStart.memory)}`);
    say(`proxy memory with idle ${JSON.stringify(idleAfter.memory)}`);
    say(
      `proxy RSS parts (KiB) at start ${JSON.stringify(atStart.rssParts)} with idle ${JSON.stringify(idleAfter.rssParts)}`,
    );
    say(`proxy heap spaces (KiB) at start ${JSON.stringify(atStart.spaces)}`);
    say(`proxy heap spaces (KiB) with idle ${JSON.stringify(idleAfter.spaces)}`);
    const memoryFigures = {
      idleSessions,
      proxySessionsReported: idleAfter.sessions,
      rssMbAtStart: round(atStart.rss / 2 ** 20, 1),
      heapMbAtStart: round(atStart.heapUsed / 2 ** 20, 1),
      heapMbWithIdle: round(idleAfter.heapUsed / 2 ** 20, 1),
      rssMbWithIdle: round(idleAfter.rss / 2 ** 20, 1),
      typeStripperLoaded: idleAfter.typeStripperLoaded,
    };
    if (values['memory-only']) {
      console.log(JSON.stringify({ bench: 'proxy', memoryOnly: true, ...memoryFigures }));
      return;
    }
    for (let i = 0; i < idle.length; i += 32) await Promise.all(idle.slice(i, i + 32).map((s) => s.close()));
    say(`echo servers: ${echo.urls.join(' ')}\nproxy: ${proxy.mcpUrl}`);

    const pipe = await startBaseline('pipe-proxy.ts', [directUrl]);
    children.push(pipe.child);
    const floor = await startBaseline('mcp-floor-proxy.ts', [directUrl, 'e1']);
    children.push(floor.child);
    const direct32 = await openMany(directUrl, undefined, 32, era);
    const piped32 = await openMany(pipe.url, undefined, 32, era);
    const floored32 = await openMany(floor.url, token, 32, era);
    const proxied32 = await openMany(proxy.mcpUrl, token, 32, era);
    say('warming up');
    await load(direct32, 'echo', 1000);
    await load(piped32, 'echo', 1000);
    await load(floored32, 'e1_echo', 1000);
    await load(proxied32, 'e1_echo', 1000);

    say('concurrency 1');
    const d1 = await load(direct32.slice(0, 1), 'echo', durationMs);
    const b1 = await load(piped32.slice(0, 1), 'echo', durationMs);
    const f1 = await load(floored32.slice(0, 1), 'e1_echo', durationMs);
    const beforeC1 = await proxyStats(proxy.child);
    const p1 = await load(proxied32.slice(0, 1), 'e1_echo', durationMs);
    const afterC1 = await proxyStats(proxy.child);
    const cpuPerCallC1Ms =
      (afterC1.cpu.user - beforeC1.cpu.user + afterC1.cpu.system - beforeC1.cpu.system) / 1000 / p1.calls;
    say('concurrency 32');
    const d32 = await load(direct32, 'echo', durationMs);
    const [b32, pipeCpuPerCallMs, pipeSysPerCallMs] = await cpuPerCall(pipe.child, () =>
      load(piped32, 'echo', durationMs),
    );
    const [f32, floorCpuPerCallMs, floorSysPerCallMs] = await cpuPerCall(floor.child, () =>
      load(floored32, 'e1_echo', durationMs),
    );
    const before = await proxyStats(proxy.child);
    const p32 = await load(proxied32, 'e1_echo', durationMs);
    const after = await proxyStats(proxy.child);
    const cpuMs = (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000;
    const cpuPerCallMs = cpuMs / p32.calls;
    const sysPerCallMs = (after.cpu.system - before.cpu.system) / 1000 / p32.calls;
    const gcMsPerCall = ((after.gc?.ms ?? 0) - (before.gc?.ms ?? 0)) / p32.calls;
    const gcsPer1000Calls = (((after.gc?.count ?? 0) - (before.gc?.count ?? 0)) / p32.calls) * 1000;
    const scavenges = (after.gc?.minor ?? 0) - (before.gc?.minor ?? 0);
    const scavengeMs = (after.gc?.minorMs ?? 0) - (before.gc?.minorMs ?? 0);

    say('fresh sessions');
    const freshDirect: number[] = [];
    const freshProxy: number[] = [];
    for (let i = 0; i < 40; i++) {
      freshDirect.push(await freshSession(directUrl, undefined, 'echo', era));
      freshProxy.push(await freshSession(proxy.mcpUrl, token, 'e1_echo', era));
    }
    freshDirect.sort((a, b) => a - b);
    freshProxy.sort((a, b) => a - b);

    say('tools/list over 4 children');
    const lister = proxied32[0]!;
    const listed = (await lister.call('tools/list', {})) as { tools: unknown[] };
    for (let i = 0; i < 50; i++) await lister.call('tools/list', {});
    const lists: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await lister.call('tools/list', {});
      lists.push(performance.now() - t0);
    }
    lists.sort((a, b) => a - b);

    const afterLoad = await proxyStats(proxy.child);
    say(`proxy memory after load ${JSON.stringify(afterLoad.memory)}`);

    const figures = {
      throughputRatioC32: round(p32.rps / d32.rps),
      directRpsC32: round(d32.rps, 0),
      proxyRpsC32: round(p32.rps, 0),
      pipeThroughputRatioC32: round(b32.rps / d32.rps),
      pipeRpsC32: round(b32.rps, 0),
      addedP50MsC1: round(p1.p50 - d1.p50),
      pipeAddedP50MsC1: round(b1.p50 - d1.p50),
      directP50MsC1: round(d1.p50),
      proxyP50MsC1: round(p1.p50),
      proxyP99MsC32: round(p32.p99),
      directP99MsC32: round(d32.p99),
      proxyCpuMsPerCall: round(cpuPerCallMs),
      proxyCpuMsPerCallC1: round(cpuPerCallC1Ms),
      // The kernel's share of each CPU figure (system time: loopback TCP, epoll, log writes).
      proxySysMsPerCall: round(sysPerCallMs),
      pipeSysMsPerCall: round(pipeSysPerCallMs),
      floorSysMsPerCall: round(floorSysPerCallMs),
      proxyGcMsPerCall: round(gcMsPerCall, 4),
      proxyGcsPer1000Calls: round(gcsPer1000Calls, 1),
      proxyScavengesPer1000Calls: round((scavenges / p32.calls) * 1000, 1),
      proxyScavengeMsMean: round(scavenges === 0 ? 0 : scavengeMs / scavenges),
      pipeCpuMsPerCall: round(pipeCpuPerCallMs),
      floorThroughputRatioC32: round(f32.rps / d32.rps),
      floorAddedP50MsC1: round(f1.p50 - d1.p50),
      floorCpuMsPerCall: round(floorCpuPerCallMs),
      freshSessionRatio: round(percentile(freshProxy, 50) / percentile(freshDirect, 50)),
      freshSessionDirectMs: round(percentile(freshDirect, 50)),
      freshSessionProxyMs: round(percentile(freshProxy, 50)),
      toolsListP50Ms4Children: round(percentile(lists, 50)),
      toolsListCount: listed.tools.length,
      ...memoryFigures,
      rssMbAfterLoad: round(afterLoad.rss / 2 ** 20, 1),
      heapMbAfterLoad: round(afterLoad.heapUsed / 2 ** 20, 1),
    };
    const targets: [string, string, string, boolean][] = [
      [
        'throughput ratio c=32',
        `${figures.throughputRatioC32}× (${figures.proxyRpsC32}/${figures.directRpsC32} rps; bare pipe ${figures.pipeThroughputRatioC32}×, MCP floor ${figures.floorThroughputRatioC32}×)`,
        '≥ 0.6×',
        figures.throughputRatioC32 >= 0.6,
      ],
      [
        'added p50 c=1',
        `${figures.addedP50MsC1} ms (${figures.proxyP50MsC1} vs ${figures.directP50MsC1}; bare pipe adds ${figures.pipeAddedP50MsC1}, MCP floor ${figures.floorAddedP50MsC1}; proxy CPU per call ${figures.proxyCpuMsPerCallC1})`,
        '≤ 0.5 ms',
        figures.addedP50MsC1 <= 0.5,
      ],
      [
        'proxy CPU per call',
        `${figures.proxyCpuMsPerCall} ms, kernel ${figures.proxySysMsPerCall} (bare pipe ${figures.pipeCpuMsPerCall}, kernel ${figures.pipeSysMsPerCall}; MCP floor ${figures.floorCpuMsPerCall}, kernel ${figures.floorSysMsPerCall})`,
        '≤ 0.35 ms',
        figures.proxyCpuMsPerCall <= 0.35,
      ],
      [
        'fresh session ratio',
        `${figures.freshSessionRatio}× (${figures.freshSessionProxyMs} vs ${figures.freshSessionDirectMs} ms)`,
        '≤ 2×',
        figures.freshSessionRatio <= 2,
      ],
      [
        'tools/list 4 children p50',
        `${figures.toolsListP50Ms4Children} ms (${figures.toolsListCount} tools)`,
        '≤ 2 ms',
        figures.toolsListP50Ms4Children <= 2,
      ],
      [
        `RSS with ${idleSessions} idle sessions`,
        `${figures.rssMbWithIdle} MB (at start ${figures.rssMbAtStart}; sessions ${figures.proxySessionsReported}${figures.typeStripperLoaded ? '; compile cache cold' : ''})`,
        '≤ 150 MB',
        figures.rssMbWithIdle <= 150,
      ],
    ];
    if (!values['json-only']) {
      const width = Math.max(...targets.map((t) => t[0].length));
      const valueWidth = Math.max(...targets.map((t) => t[1].length));
      console.log(`${'figure'.padEnd(width)}  ${'measured'.padEnd(valueWidth)}  target     met`);
      for (const [name, value, target, met] of targets) {
        console.log(
          `${name.padEnd(width)}  ${value.padEnd(valueWidth)}  ${target.padEnd(9)}  ${met ? 'yes' : 'NO'}`,
        );
      }
    }
    console.log(
      JSON.stringify({
        bench: 'proxy',
        durationMs,
        childProtocol: values['child-protocol'],
        frontProtocol: values['front-protocol'],
        ...figures,
      }),
    );
  } finally {
    destroyAgent();
    await Promise.all(
      children.map((child) => new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM'))),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
