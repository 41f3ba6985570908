// The runner as a real process behind the real proxy: killed with SIGKILL mid-run it leaves its containers behind;
// restarted, it removes its own fleet's leftovers and nobody else's (another fleet's, an unlabelled one). Stopped
// with SIGTERM, it removes what it was running before it exits.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { labelKeys } from '../../../servers/docker-runner/labels.ts';
import { testImages, type TestImages } from '../../support/docker-images.ts';
import { serviceAvailable } from '../../support/services.ts';
import {
  connectAgent,
  docker,
  fleetContainers,
  runnerYaml,
  spawnRunner,
  type RunnerAgent,
  type RunnerProcess,
} from './harness.ts';

const issuer = 'http://mcpcp.test';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.runIf(serviceAvailable('docker'))('docker runner process restarts', { timeout: 120_000 }, () => {
  let images: TestImages;
  let dir: string;
  let fleet: string;
  let args: string[];
  let proxy: RunningProxy | undefined;
  let runner: RunnerProcess | undefined;
  let token: string;
  const foreign: string[] = [];
  const agents: RunnerAgent[] = [];

  beforeAll(async () => {
    images = await testImages();
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-runner-restart-'));
    fleet = `test-${randomBytes(6).toString('hex')}`;
    const keysDir = join(dir, 'keys');
    await generateKeyPair(keysDir);
    const runnerFile = join(dir, 'docker-runner.yaml');
    await writeFile(runnerFile, runnerYaml(images, fleet));
    const port = await freePort();
    args = [
      '--port',
      String(port),
      '--keys-dir',
      keysDir,
      '--issuer',
      issuer,
      '--data-dir',
      join(dir, 'data'),
    ];
    args.push('--runner-config', runnerFile);
    const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:
  - id: docker-runner
    transport: http
    url: http://127.0.0.1:${port}/mcp
    firstParty: true
    protocol: 2025-11-25
agents: { alice: {} }
policy:
  rules:
    - { id: alice, subjects: [alice], servers: [docker-runner], allow: ['docker-runner_*'] }
`;
    runner = await spawnRunner(args);
    proxy = await startProxy({
      config: parseConfig(yaml, join(dir, 'mcpcp.yaml')),
      logger: createSilentLogger(),
    });
    token = await issueAgentToken(await loadSigner(keysDir), {
      issuer: proxy.urls.issuer,
      audience: proxy.urls.resource,
      agent: 'alice',
      ttlSeconds: 900,
    });
  });
  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await proxy?.close();
    await runner?.stop('SIGKILL');
    for (const c of [...foreign, ...(await fleetContainers(fleet)).map((c) => c.Id)])
      await docker
        .getContainer(c)
        .remove({ force: true })
        .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function alice(): Promise<RunnerAgent> {
    const agent = await connectAgent(proxy!.mcpUrl, 'alice', token);
    agents.push(agent);
    return agent;
  }

  /**
   * A run of `sleep` and a session, both with live containers; resolves once the engine shows both running, with the
   * run's outcome still pending (wrapped: an async function returning a bare promise would wait for it).
   */
  async function busy(agent: RunnerAgent): Promise<{ pending: Promise<unknown> }> {
    const pending = agent.call('run', { image: 'busybox', command: ['sleep', '60'] }).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await agent.call('session_start', { image: 'busybox' });
    await until('two running containers', async () => {
      const running = (await fleetContainers(fleet)).filter((c) => c.State === 'running');
      return running.length === 2 ? running : undefined;
    });
    return { pending };
  }

  it('removes only its own fleet leftovers after a SIGKILL', async () => {
    const { pending } = await busy(await alice());
    await runner!.stop('SIGKILL');
    // Killed outright, it could not clean up: both containers are orphans now.
    expect((await fleetContainers(fleet)).length).toBe(2);
    expect(await pending).toHaveProperty('error');

    const others: Array<Record<string, string>> = [{ [labelKeys.fleet]: `other-${fleet}` }, {}];
    for (const labels of others) {
      const container = await docker.createContainer({
        Image: images.busybox.id,
        Cmd: ['sleep', '120'],
        Labels: labels,
      });
      foreign.push(container.id);
      await container.start();
    }

    runner = await spawnRunner(args);
    expect(await fleetContainers(fleet)).toEqual([]);
    for (const id of foreign) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);

    // And it serves again through the proxy.
    const again = await until('the restarted runner to answer', async () => {
      try {
        return await (
          await alice()
        ).call<{ stdout: string }>('run', { image: 'busybox', command: ['echo', 'back'] });
      } catch {
        return undefined;
      }
    });
    expect(again.stdout).toBe('back\n');
  });

  it('removes its containers when stopped with SIGTERM', async () => {
    const { pending } = await busy(await alice());
    await runner!.stop('SIGTERM');
    expect(runner!.process.exitCode).toBe(0);
    expect(await fleetContainers(fleet)).toEqual([]);
    expect(await pending).toHaveProperty('error');
  });
});
