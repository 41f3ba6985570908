// Test harness for the docker runner: the locally built images, a runner file with a fleet label of its own (so test
// files running at once never remove each other's containers), the runner over HTTP (in-process, or as a real child
// process), the real proxy in front of it, and agents that call through the proxy with their own agent tokens (the
// proxy mints the internal child token). Also a look at the engine: this fleet's containers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import Docker from 'dockerode';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { createDockerRunnerApp, dockerRunnerServerSpec } from '../../../servers/docker-runner/server.ts';
import { labelKeys } from '../../../servers/docker-runner/labels.ts';
import { testImages, type TestImages } from '../../support/docker-images.ts';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** The default runner file of these tests: both images, small limits so bombs end quickly. */
export function runnerYaml(images: TestImages, fleet: string, extra = ''): string {
  return `fleet: ${fleet}
concurrency: { running: 4, queued: 32, queueTimeoutMs: 60000 }
sessions: { idleMs: 60000, maxLifeMs: 600000, perAgent: 3, total: 20 }
images:
  busybox:
    ref: ${images.busybox.ref}
    digest: ${images.busybox.id}
    description: static busybox
    env: { LANG: C.UTF-8 }
    memoryMb: 64
    pidsLimit: 64
    timeoutMs: 20000
    maxOutputBytes: 1048576
    maxFileBytes: 65536
  python:
    ref: ${images.python.ref}
    digest: ${images.python.id}
    memoryMb: 128
    pidsLimit: 64
    timeoutMs: 20000
${extra}`;
}

export const defaultPolicy = `
agents:
  alice: {}
  bob: {}
  carol: {}
policy:
  rules:
    - id: runners
      subjects: [alice, bob]
      servers: [docker-runner]
      allow: ['docker-runner_*']
    - id: carol-busybox-only
      subjects: [carol]
      servers: [docker-runner]
      allow: ['docker-runner_*']
      arguments:
        docker-runner_run: { image: { enum: [busybox] } }
        docker-runner_session_start: { image: { enum: [busybox] } }
`;

export class ToolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export interface RunnerAgent {
  readonly agent: string;
  readonly client: Client;
  /** Calls docker-runner_<name>; returns its structured result, throws ToolError(code) on isError. */
  call<T = Record<string, unknown>>(
    name: string,
    args?: Record<string, unknown>,
    options?: { onprogress?: (progress: { progress: number; message?: string }) => void },
  ): Promise<T>;
  close(): Promise<void>;
}

export async function connectAgent(mcpUrl: string, agent: string, token: string): Promise<RunnerAgent> {
  const client = new Client({ name: agent, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return {
    agent,
    client,
    async call<T>(
      name: string,
      args: Record<string, unknown> = {},
      options: { onprogress?: (progress: { progress: number; message?: string }) => void } = {},
    ): Promise<T> {
      const result = await client.callTool(
        { name: `docker-runner_${name}`, arguments: args },
        options.onprogress ? { onprogress: options.onprogress, timeout: 120_000 } : { timeout: 120_000 },
      );
      if (result.isError === true) {
        const error = (
          result.structuredContent as { error?: { code?: string; message?: string } } | undefined
        )?.error;
        const text = result.content.map((c) => ('text' in c ? c.text : '')).join(' ');
        throw new ToolError(error?.code ?? 'ERR_TOOL', error?.message ?? text);
      }
      return result.structuredContent as T;
    },
    close: () => client.close(),
  };
}

/** How many containers of this fleet the engine created since `sinceMs` (epoch ms), from its event log. */
export async function createdSince(fleet: string, sinceMs: number): Promise<number> {
  const seconds = (ms: number) => `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`;
  const events = await docker.getEvents({
    since: seconds(sinceMs),
    until: seconds(Date.now()),
    filters: { label: [`${labelKeys.fleet}=${fleet}`], event: ['create'], type: ['container'] },
  } as unknown as Parameters<typeof docker.getEvents>[0]);
  let text = '';
  for await (const chunk of events) text += String(chunk);
  return text.split('\n').filter((line) => line.trim() !== '').length;
}

/** The containers of a fleet, running or not. */
export async function fleetContainers(fleet: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${labelKeys.fleet}=${fleet}`] } });
}

export interface RunnerFleet {
  readonly images: TestImages;
  readonly fleet: string;
  readonly dir: string;
  readonly runnerFile: string;
  readonly proxy: RunningProxy;
  readonly runnerUrl: string;
  /** Connects as `agent` through the proxy with the agent's own token. */
  connect(agent: string): Promise<RunnerAgent>;
  containers(): Promise<Docker.ContainerInfo[]>;
  close(): Promise<void>;
}

export async function startRunnerFleet(
  options: {
    runner?: (images: TestImages, fleet: string) => string;
    policy?: string;
    sweepMs?: number;
    /** The revision the proxy speaks to the runner (default 2025-11-25, as the default fleet does). */
    protocol?: 'auto' | '2025-11-25';
  } = {},
): Promise<RunnerFleet> {
  const images = await testImages();
  const fleet = `test-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-docker-runner-'));
  const keysDir = join(dir, 'keys');
  await generateKeyPair(keysDir);
  const runnerFile = join(dir, 'docker-runner.yaml');
  await writeFile(runnerFile, (options.runner ?? runnerYaml)(images, fleet));
  const issuer = 'http://mcpcp.test';
  let runner: RunningKitServer | undefined;
  let proxy: RunningProxy | undefined;
  const open: RunnerAgent[] = [];
  try {
    runner = await startKitServer(
      {
        ...dockerRunnerServerSpec,
        create: (ctx) =>
          createDockerRunnerApp(ctx, options.sweepMs === undefined ? {} : { sweepMs: options.sweepMs }),
      },
      {
        dataDir: join(dir, 'data'),
        keysDir,
        issuer,
        port: 0,
        logger: createSilentLogger(),
        flags: { 'runner-config': runnerFile },
      },
    );
    const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
  limits: { callTimeoutMs: 120000 }
servers:
  - id: docker-runner
    transport: http
    url: ${runner.url}
    firstParty: true
    protocol: ${options.protocol ?? '2025-11-25'}
${options.policy ?? defaultPolicy}`;
    const configFile = join(dir, 'mcpcp.yaml');
    await writeFile(configFile, yaml);
    proxy = await startProxy({ config: parseConfig(yaml, configFile), logger: createSilentLogger() });
  } catch (error) {
    await proxy?.close();
    await runner?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const signer = await loadSigner(keysDir);
  const started = { runner, proxy };
  return {
    images,
    fleet,
    dir,
    runnerFile,
    proxy,
    runnerUrl: runner.url,
    async connect(agent) {
      const token = await issueAgentToken(signer, {
        issuer: started.proxy.urls.issuer,
        audience: started.proxy.urls.resource,
        agent,
        ttlSeconds: 900,
      });
      const connected = await connectAgent(started.proxy.mcpUrl, agent, token);
      open.push(connected);
      return connected;
    },
    containers: () => fleetContainers(fleet),
    async close() {
      await Promise.allSettled(open.map((a) => a.close()));
      await started.proxy.close();
      await started.runner.close();
      // Whatever a failed test left behind: this fleet's containers only.
      for (const c of await fleetContainers(fleet))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunnerProcess {
  readonly url: string;
  readonly process: ChildProcess;
  readonly stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node servers/docker-runner/main.ts` and waits for its listening line (it has swept its fleet by then). */
export async function spawnRunner(args: string[]): Promise<RunnerProcess> {
  const child = spawn(process.execPath, ['servers/docker-runner/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 30_000);
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && event.url) {
        clearTimeout(timer);
        resolve(event.url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${stderr}`));
    });
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
