// End to end through the real CLI: `mcpcp up` on a fresh data folder (embedded default fleet: server-everything,
// server-memory, channels and bot-runner behind the proxy, and the docker runner when an engine answers), `mcpcp
// status`, `mcpcp demo`, `mcpcp down`; then no process is left.
// Also: a configured fleet with a launched HTTP child and a broken one, SIGTERM, and a second `up` refused; a docker
// runner without an engine (the fleet starts, `up` says so).
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { defaultRunnerFleet } from '../../../launcher/fleet/default-docker-runner.ts';
import { probeDockerEngine } from '../../../servers/docker-runner/probe.ts';
import { httpChild, isGone, stdioChild } from './helpers.ts';

const cli = new URL('../../../launcher/bin/mcpcp.ts', import.meta.url).pathname;
type Up = ResultPromise<{ buffer: false; reject: false; cwd: string }>;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-up-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function mcpcp(args: string[], cwd: string) {
  return execa(process.execPath, [cli, ...args], { cwd, reject: false, timeout: 60_000 });
}

interface UpHandle {
  process: Up;
  events: Record<string, unknown>[];
  /** Resolves with the first event matching `event`. */
  next(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function startUp(args: string[], cwd: string): UpHandle {
  const child = execa(process.execPath, [cli, 'up', '--json', '--port', '0', ...args], {
    cwd,
    buffer: false,
    reject: false,
  }) as Up;
  const events: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.resume();
  cleanups.push(async () => {
    if (child.nodeChildProcess.exitCode === null) child.kill('SIGKILL');
    await child;
  });
  const next = async (event: string, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find((e) => e.event === event);
      if (hit) return hit;
      if (child.nodeChildProcess.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `no ${event} event (exit ${child.nodeChildProcess.exitCode}); got ${JSON.stringify(events)}`,
        );
      }
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { process: child, events, next };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** A launched HTTP child entry of a fleet config (it listens on a port it picks and says which). */
const launchedHttp = (id: string, command: string, args: readonly string[]): string =>
  `  - id: ${id}
    transport: http
    url: http://127.0.0.1:0/mcp
    start: { command: ${JSON.stringify(command)}, args: [${args.map((a) => JSON.stringify(a)).join(', ')}] }
`;

/** Writes cwd/fleet.yaml with local keys and these server entries; returns its path. */
async function writeFleet(cwd: string, servers: string): Promise<string> {
  const file = join(cwd, 'fleet.yaml');
  await writeFile(file, `proxy: { keysDir: ./keys }\nservers:\n${servers}`);
  return file;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('mcpcp up / status / demo / down', () => {
  it('runs the embedded default fleet from a fresh data folder, shows two agents two views, and stops cleanly', async () => {
    const cwd = await tempDir();
    const dataDir = join(cwd, 'data');
    const port = await freePort();
    const up = startUp(['--data-dir', dataDir, '--port', String(port)], cwd);
    const created = await up.next('default-config');
    expect(created).toMatchObject({ configFile: join(dataDir, 'mcpcp.yaml'), created: ['keys', 'config'] });
    // The config written on first run says what runs: the port given, and the issuer and audience there.
    const written = await readFile(join(dataDir, 'mcpcp.yaml'), 'utf8');
    expect(written).toContain(`listen: { host: 127.0.0.1, port: ${port} }`);
    expect(written).toContain(`issuer: http://127.0.0.1:${port}\n`);
    const ready = (await up.next('fleet-ready')) as {
      status: { servers: { id: string; state: string; pid: number }[] };
    };
    // The docker runner joins the default fleet when a Docker engine answers (CI always has one).
    const docker = (await probeDockerEngine()).reachable;
    expect(ready.status.servers.map((s) => [s.id, s.state])).toEqual([
      ['everything', 'ready'],
      ['memory', 'ready'],
      ['channels', 'ready'],
      ['bot-runner', 'ready'],
      ['code-runner', 'ready'],
      ...(docker ? [['docker-runner', 'ready']] : []),
    ]);
    const connect = (await up.next('connect')) as { mcpUrl: string; tokens: string[] };
    expect(connect.mcpUrl).toBe(`http://127.0.0.1:${port}/mcp`);
    const metadata = (await (
      await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)
    ).json()) as { resource: string; authorization_servers: string[] };
    expect(metadata).toMatchObject({
      resource: connect.mcpUrl,
      authorization_servers: [`http://127.0.0.1:${port}`],
    });

    // Every follow-up command finds the fleet's config in the data folder, as status and down do (no ./mcpcp.yaml
    // here, no --config): a token for a demo agent, checked; a policy decision; a config check.
    const issued = await mcpcp(['token', 'issue', '--agent', 'agent_name1', '--data-dir', dataDir], cwd);
    expect(issued.stderr).toBe('');
    expect(issued.exitCode).toBe(0);
    const verified = await mcpcp(['token', 'verify', issued.stdout.trim(), '--data-dir', dataDir], cwd);
    expect(verified.stdout).toContain('valid: agent agent_name1');
    const accepted = await fetch(connect.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${issued.stdout.trim()}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } },
      }),
    });
    expect(accepted.status).toBe(200);
    await accepted.body?.cancel();
    const explained = await mcpcp(
      ['policy', 'explain', 'agent_name1', 'everything_get-env', '--data-dir', dataDir],
      cwd,
    );
    expect(explained.exitCode).toBe(0);
    expect(explained.stdout).toMatch(/^DENIED: tool everything_get-env .* agent agent_name1/);
    const checked = await mcpcp(['config', 'check', '--data-dir', dataDir], cwd);
    expect(checked.exitCode).toBe(0);
    expect(checked.stdout).toContain(`${join(dataDir, 'mcpcp.yaml')}: valid`);
    expect(connect.tokens).toEqual([
      join(dataDir, 'tokens/agent_name1.jwt'),
      join(dataDir, 'tokens/agent_name2.jwt'),
    ]);
    expect(await mode(connect.tokens[0]!)).toBe(0o600);
    if (docker) {
      // The demo agents reach the docker runner through the proxy; its file pins this data folder's fleet label.
      const runnerFile = await readFile(join(dataDir, 'docker-runner.yaml'), 'utf8');
      expect(runnerFile).toContain(`fleet: ${defaultRunnerFleet(dataDir)}`);
      const token = (await readFile(connect.tokens[0]!, 'utf8')).trim();
      const client = new Client({ name: 'agent_name1', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(connect.mcpUrl), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      const images = await client.callTool({ name: 'docker-runner_images', arguments: {} });
      await client.close();
      expect(images.isError).not.toBe(true);
      expect(images.structuredContent).toHaveProperty('images');
    }
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(join(dataDir, 'admin.sock'))).toBe(0o600);

    const status = await mcpcp(['status', '--data-dir', dataDir, '--json'], cwd);
    expect(status.exitCode).toBe(0);
    const fleet = JSON.parse(status.stdout) as {
      proxy: { mcpUrl: string };
      servers: { pid: number; tools: number }[];
    };
    expect(fleet.proxy.mcpUrl).toBe(connect.mcpUrl);
    const pids = fleet.servers.map((s) => s.pid);
    expect(pids.every((pid) => pid > 0)).toBe(true);

    const demo = await mcpcp(['demo', '--data-dir', dataDir, '--json'], cwd);
    expect(demo.stderr).toBe('');
    expect(demo.exitCode).toBe(0);
    const result = JSON.parse(demo.stdout) as {
      mismatches: string[];
      multiplayer?: { over: boolean; verified: { agent: string; ok: boolean }[] };
      agents: {
        agent: string;
        tools: string[];
        allowedCall: { outcome: string };
        hiddenCall: { outcome: string };
      }[];
    };
    expect(result.mismatches).toEqual([]);
    const [one, two] = result.agents;
    expect(one!.tools).toContain('everything_get-sum');
    expect(one!.tools).not.toContain('memory_create_entities');
    expect(two!.tools).toContain('memory_create_entities');
    expect(two!.tools).not.toContain('everything_get-sum');
    for (const agent of [one!, two!]) expect(agent.tools).toContain('channels_create_channel');
    for (const agent of result.agents) {
      expect(agent.allowedCall.outcome).toBe('ok');
      expect(agent.hiddenCall.outcome).toBe('refused');
    }
    // Multiplayer: the two agents played GuessBot in a channel and both verified the transcript.
    expect(result.multiplayer).toMatchObject({ over: true, revealValid: true, problems: [] });
    expect(result.multiplayer!.verified.map((v) => [v.agent, v.ok])).toEqual([
      ['agent_name1', true],
      ['agent_name2', true],
    ]);

    const human = await mcpcp(['demo', '--data-dir', dataDir], cwd);
    expect(human.stdout).toContain('🔐 Getting tools for agent: agent_name1');
    expect(human.stdout).toContain(
      `📋 Agent has access to servers: everything, memory, channels, bot-runner, code-runner${docker ? ', docker-runner' : ''}\n`,
    );
    expect(human.stdout).toContain('   - memory_read_graph');
    expect(human.stdout).toContain('🎲 agent_name1 creates GuessBot channel');
    expect(human.stdout).toContain('transcript verified by agent_name1 and agent_name2');
    expect(human.exitCode).toBe(0);

    const down = await mcpcp(['down', '--data-dir', dataDir], cwd);
    expect(down.exitCode).toBe(0);
    const stopped = [
      'everything',
      'memory',
      'channels',
      'bot-runner',
      'code-runner',
      ...(docker ? ['docker-runner'] : []),
    ];
    expect(down.stdout).toMatch(
      new RegExp(
        `^Fleet in .* stopped \\(\\d+ ms\\): ${stopped.length} server\\(s\\) \\(${stopped.join(', ')}\\) and the proxy; no process left\\.$`,
        'm',
      ),
    );
    expect((await up.process).exitCode).toBe(0);
    // Every child is reported stopped, the proxy's stdio children as well as the launcher's HTTP ones.
    const stoppedIds = up.events
      .filter((e) => e.event === 'child-state' && e.state === 'stopped')
      .map((e) => e.id as string);
    expect(stoppedIds.sort()).toEqual([...stopped].sort());
    for (const pid of pids) expect(await isGone(pid), `child ${pid} left running`).toBe(true);

    const after = await mcpcp(['status', '--data-dir', dataDir], cwd);
    expect(after.exitCode).toBe(1);
    expect(after.stderr).toContain(`no fleet is running in ${dataDir}; start one with \`mcpcp up\``);
  }, 120_000);

  it('starts a configured HTTP child, reports a broken one clearly, refuses a second up, and stops on SIGTERM', async () => {
    const cwd = await tempDir();
    const dataDir = join(cwd, 'data');
    const config = join(cwd, 'fleet.yaml');
    await writeFile(
      config,
      `proxy:
  keysDir: ./keys
servers:
  - id: web
    transport: http
    url: http://127.0.0.1:0/mcp
    start: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(httpChild)}, --tools, 'greet,wave'] }
  - id: broken
    transport: http
    url: http://127.0.0.1:0/mcp
    start: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(stdioChild)}, --crash-at-start] }
    restart: { maxRestarts: 1, backoffMs: 10 }
policy:
  rules:
    - { id: all, subjects: ['*'], servers: [web], allow: ['web_*'] }
`,
    );
    const up = startUp(['--config', config, '--data-dir', dataDir, '--log-dir', join(cwd, 'logs')], cwd);
    const failed = await up.next('child-failed');
    expect(failed).toMatchObject({ id: 'broken', error: 'exited with code 3 before it was ready' });
    expect(failed.hint).toMatch(/start` command/);
    expect(failed.stderrTail).toContain('fatal: cannot open database ./missing.db');
    const ready = (await up.next('fleet-ready')) as {
      status: { servers: Record<string, unknown>[]; proxy: { mcpUrl: string; resource: string } };
    };
    // --port 0 over a config that names no publicUrl: the audience follows the port really bound.
    expect(ready.status.proxy.resource).toBe(ready.status.proxy.mcpUrl);
    const web = ready.status.servers.find((s) => s.id === 'web')!;
    expect(web).toMatchObject({ state: 'ready', tools: 2, owner: 'launcher', transport: 'http' });
    expect(web.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const again = await mcpcp(['up', '--config', config, '--data-dir', dataDir, '--port', '0'], cwd);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`a fleet is already running in ${dataDir}`);
    // Refused before anything started: no progress line, no child spawned.
    expect(again.stdout).toBe('');

    const started = Date.now();
    up.process.kill('SIGTERM');
    expect((await up.process).exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(up.events.at(-1)).toMatchObject({ event: 'fleet-stopped' });
    expect(await isGone(web.pid as number)).toBe(true);
    expect(await readFile(join(cwd, 'logs/web.log'), 'utf8')).toMatch(/ stderr http-child warming up\n/);
    expect(await readFile(join(cwd, 'logs/broken.log'), 'utf8')).toMatch(
      / stderr fatal: cannot open database/,
    );
  });

  it('leaves no child running when `mcpcp up` itself is killed with SIGKILL', async () => {
    const cwd = await tempDir();
    const config = await writeFleet(
      cwd,
      `${launchedHttp('web', process.execPath, [httpChild])}  - id: local
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(stdioChild)}]
`,
    );
    const up = startUp(['--config', config, '--data-dir', join(cwd, 'data')], cwd);
    const ready = (await up.next('fleet-ready')) as { status: { servers: { state: string; pid: number }[] } };
    expect(ready.status.servers.map((s) => s.state)).toEqual(['ready', 'ready']);
    const pids = ready.status.servers.map((s) => s.pid);
    up.process.kill('SIGKILL');
    await up.process;
    for (const pid of pids) expect(await isGone(pid), `child ${pid} outlived the launcher`).toBe(true);
    const status = await mcpcp(['status', '--data-dir', join(cwd, 'data')], cwd);
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toContain('no fleet is running');
  });

  it('stops cleanly, exit 0, when SIGTERM lands while the fleet is still starting', async () => {
    const cwd = await tempDir();
    // A child that takes a while to listen, so the signal surely lands mid-start.
    const slowStart = `sleep 1; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(httpChild)}`;
    const config = await writeFleet(cwd, launchedHttp('web', 'sh', ['-c', slowStart]));
    const up = startUp(['--config', config, '--data-dir', join(cwd, 'data')], cwd);
    const starting = (await up.next('child-starting')) as { pid?: number };
    up.process.kill('SIGTERM');
    const result = await up.process;
    expect(result.signal).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(up.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['fleet-ready', 'fleet-stopping', 'fleet-stopped']),
    );
    if (starting.pid !== undefined) expect(await isGone(starting.pid)).toBe(true);
  });

  it('says what to do when the proxy port is already in use, and leaves no child behind', async () => {
    const cwd = await tempDir();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const port = (busy.address() as { port: number }).port;
    const config = await writeFleet(
      cwd,
      `${launchedHttp('web', process.execPath, [httpChild])}  - id: local
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(stdioChild)}]
`,
    );
    const up = await mcpcp(
      ['up', '--config', config, '--data-dir', join(cwd, 'data'), '--port', String(port)],
      cwd,
    );
    expect(up.exitCode).toBe(1);
    // Found before any child was started, not after all of them were ready.
    expect(up.stdout).not.toMatch(/starting \((http|stdio)\)|ready in/);
    expect(up.stderr).toContain(`port ${port} is already in use`);
    expect(up.stderr).toMatch(/up --port \d+` \(0 = any free port\), or set proxy\.listen\.port in /);
  });

  it('starts a docker runner that has no engine, and says so: its tools answer ERR_DOCKER_UNAVAILABLE', async () => {
    const cwd = await tempDir();
    const runnerFile = join(cwd, 'docker-runner.yaml');
    await writeFile(
      runnerFile,
      `socket: ${join(cwd, 'no-docker.sock')}\nimages:\n  busybox: { ref: busybox, digest: sha256:${'a'.repeat(64)} }\n`,
    );
    const runnerMain = new URL('../../../servers/docker-runner/main.ts', import.meta.url).pathname;
    const config = await writeFleet(
      cwd,
      launchedHttp('sandbox', process.execPath, [
        runnerMain,
        '--agent',
        'tester',
        '--runner-config',
        './docker-runner.yaml',
      ]),
    );
    const up = startUp(['--config', config, '--data-dir', join(cwd, 'data')], cwd);
    const notice = await up.next('docker-engine');
    expect(notice).toMatchObject({
      reachable: false,
      socket: join(cwd, 'no-docker.sock'),
      reason: 'ENOENT',
      runners: ['sandbox'],
    });
    expect(notice.message).toMatch(/sandbox will start, but its tools answer ERR_DOCKER_UNAVAILABLE/);
    // The fleet still starts, the runner with it.
    const ready = (await up.next('fleet-ready')) as { status: { servers: Record<string, unknown>[] } };
    expect(ready.status.servers).toEqual([
      expect.objectContaining({ id: 'sandbox', state: 'ready', tools: 8 }),
    ]);
    up.process.kill('SIGTERM');
    expect((await up.process).exitCode).toBe(0);
  });
});
