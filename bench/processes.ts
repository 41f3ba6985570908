// The processes of bench/proxy.ts: the echo children, the MCPCP proxy and the baseline proxies, each in
// its own process so its CPU and memory are its own, and the stats each proxy process reports over IPC.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { nodeFlags } from '../launcher/node-flags.ts';
import type { LoadResult } from './load.ts';

const here = path.dirname(new URL(import.meta.url).pathname);

export interface ProxyStats {
  cpu: NodeJS.CpuUsage;
  /** GC pauses so far (proxy process only). */
  gc?: { ms: number; count: number; minorMs: number; minor: number };
  rss: number;
  heapUsed: number;
  memory: NodeJS.MemoryUsage;
  spaces: Record<string, number>;
  rssParts?: { anon: number; file: number };
  /** Node loaded its type stripper (a compile cache miss: first run after an edit). */
  typeStripperLoaded: boolean;
  sessions: number;
}

export function startEchoServers(count: number): Promise<{ child: ChildProcess; urls: string[] }> {
  const child = spawn(process.execPath, [path.join(here, 'echo-server.ts'), '--count', String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve({ child, urls: (JSON.parse(line) as { urls: string[] }).urls }));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
}

export function startProxyProcess(
  configFile: string,
  /** Node flags after the CLI's and the bench's own (e.g. a --cpu-prof pair). */
  extraFlags: readonly string[],
): Promise<{ child: ChildProcess; mcpUrl: string; resource: string; issuer: string }> {
  const child = fork(path.join(here, 'proxy-process.ts'), [configFile], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    // Started as `mcpcp` starts the proxy it hosts: the CLI's Node flags, and the compile cache turned on
    // by the same module before any TypeScript loads (launcher/bin/start-up.js); then the bench's own.
    execArgv: [
      ...nodeFlags,
      '--import',
      path.join(here, '../launcher/bin/start-up.js'),
      '--expose-gc',
      ...extraFlags,
    ],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { mcpUrl: string; resource: string; issuer: string }) =>
      resolve({ child, ...m }),
    );
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
  });
}

/** A baseline proxy in its own process (bench/pipe-proxy.ts, bench/mcp-floor-proxy.ts): its URL once listening. */
export function startBaseline(script: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(path.join(here, script), args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [...nodeFlags, '--import', path.join(here, '../launcher/bin/start-up.js')],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** CPU of a process over one load phase, per call. */
export async function cpuPerCall(
  child: ChildProcess,
  run: () => Promise<LoadResult>,
): Promise<[LoadResult, number, number]> {
  const before = await proxyStats(child);
  const result = await run();
  const after = await proxyStats(child);
  const ms = (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000;
  return [result, ms / result.calls, (after.cpu.system - before.cpu.system) / 1000 / result.calls];
}

export function proxyStats(child: ChildProcess): Promise<ProxyStats> {
  return new Promise((resolve) => {
    child.once('message', (m: ProxyStats) => resolve(m));
    child.send({ type: 'stats' });
  });
}
