import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../config/docker-runner.ts';
import { parseConfig } from '../../../config/load.ts';
import { dockerRunners } from '../../../launcher/docker-notice.ts';
import {
  defaultRunnerFileText,
  defaultRunnerFleet,
  ensureDefaultRunnerFile,
  pickBaseImages,
} from '../../../launcher/fleet/default-docker-runner.ts';
import { defaultConfigText } from '../../../launcher/fleet/default-fleet.ts';

const id = (n: string) => `sha256:${n.repeat(64)}`;

describe('the default fleet and Docker', () => {
  it('allows the well-known base images the engine holds, pinned to their IDs', () => {
    const picked = pickBaseImages([
      { id: id('a'), tags: ['busybox:latest'] },
      { id: id('b'), tags: ['python:3.12-slim', 'docker.io/library/python:latest'] },
      { id: id('c'), tags: ['myorg/busybox:latest', 'evil/python:latest', 'postgres:16'] },
      { id: id('d'), tags: ['busybox:latest'] },
    ]);
    expect(picked).toEqual([
      { name: 'busybox', ref: 'busybox:latest', id: id('a') },
      { name: 'python', ref: 'docker.io/library/python:latest', id: id('b') },
      { name: 'python-3.12-slim', ref: 'python:3.12-slim', id: id('b') },
    ]);
    const file = parseRunnerConfig(
      defaultRunnerFileText({ fleet: 'mcpcp-x', images: picked }),
      'docker-runner.yaml',
    );
    expect(Object.keys(file.images)).toEqual(['busybox', 'python', 'python-3.12-slim']);
    expect(file.images.busybox).toMatchObject({ digest: id('a'), user: '65534:65534', network: 'none' });
    expect(parseRunnerConfig(defaultRunnerFileText({ fleet: 'f', images: [] }), 'r.yaml').images).toEqual({});
  });

  it('gives each data folder its own fleet label', () => {
    expect(defaultRunnerFleet('/a')).toMatch(/^mcpcp-[0-9a-f]{12}$/);
    expect(defaultRunnerFleet('/a')).not.toBe(defaultRunnerFleet('/b'));
    expect(defaultRunnerFleet('/a/../a')).toBe(defaultRunnerFleet('/a'));
  });

  it('adds the docker runner and a rule for the demo agents when the engine answered', () => {
    const text = defaultConfigText({
      nodePath: '/usr/bin/node',
      dataDir: '/data',
      docker: { included: true, runnerFile: '/data/docker-runner.yaml' },
    });
    const config = parseConfig(text, '/data/mcpcp.yaml');
    expect(config.servers.map((s) => s.id)).toContain('docker-runner');
    expect(dockerRunners(config)).toEqual([{ id: 'docker-runner', runnerFile: '/data/docker-runner.yaml' }]);
    expect(config.policy.rules.find((r) => r.id === 'players-docker')).toMatchObject({
      subjects: ['group:players'],
      allow: ['docker-runner_*'],
    });
  });

  it('leaves it out, saying why, when no engine answered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-default-docker-'));
    try {
      const docker = await ensureDefaultRunnerFile(dir, join(dir, 'no-docker.sock'));
      expect(docker).toEqual({ included: false, socket: join(dir, 'no-docker.sock'), reason: 'ENOENT' });
      await expect(readFile(join(dir, 'docker-runner.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
      const text = defaultConfigText({ nodePath: '/usr/bin/node', dataDir: dir, docker });
      expect(text).toContain(
        `# No docker runner: no Docker engine answered at ${join(dir, 'no-docker.sock')} (ENOENT)`,
      );
      const config = parseConfig(text, join(dir, 'mcpcp.yaml'));
      expect(config.servers.map((s) => s.id)).not.toContain('docker-runner');
      expect(config.policy.rules.map((r) => r.id)).not.toContain('players-docker');
      expect(dockerRunners(config)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
