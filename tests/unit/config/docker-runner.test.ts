import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunnerConfig, parseRunnerConfig } from '../../../config/docker-runner.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { repoRoot } from './helpers.ts';

const digest = `sha256:${'ab'.repeat(32)}`;
const image = (extra = '') => `images:\n  busybox:\n    ref: busybox:1.36\n    digest: ${digest}\n${extra}`;

function failure(text: string): McpcpError {
  try {
    parseRunnerConfig(text, 'docker-runner.yaml');
  } catch (error) {
    if (error instanceof McpcpError) return error;
    throw error;
  }
  throw new Error('expected the runner file to be rejected');
}

describe('docker runner file', () => {
  it('fills the hardened defaults and freezes the result', () => {
    const config = parseRunnerConfig(image(), 'docker-runner.yaml');
    expect(config).toMatchObject({
      fleet: 'default',
      socket: '/var/run/docker.sock',
      concurrency: { running: 4, queued: 64, queueTimeoutMs: 30_000 },
      sessions: { idleMs: 600_000, maxLifeMs: 3_600_000, perAgent: 4, total: 32 },
    });
    expect(config.images.busybox).toEqual({
      ref: 'busybox:1.36',
      digest,
      user: '65534:65534',
      network: 'none',
      memoryMb: 256,
      cpus: 1,
      pidsLimit: 128,
      tmpfsMb: 64,
      tmpfsExec: false,
      workdir: '/work',
      timeoutMs: 30_000,
      maxOutputBytes: 1_048_576,
      maxFileBytes: 1_048_576,
      env: {},
    });
    expect(Object.isFrozen(config.images.busybox)).toBe(true);
  });

  it.each([
    ['a root user', '    user: "0:0"\n', 'images.busybox.user', /never runs a container as root/],
    ['a user name', '    user: root\n', 'images.busybox.user', /UID:GID/],
    ['the host network', '    network: host\n', 'images.busybox.network', /share the host network/],
    ['a workdir with ..', '    workdir: /work/../etc\n', 'images.busybox.workdir', /plain segments/],
    ['the root as workdir', '    workdir: /\n', 'images.busybox.workdir', /plain segments/],
    ['a relative workdir', '    workdir: work\n', 'images.busybox.workdir', /absolute path/],
    ['an unknown key', '    privileged: true\n', 'images.busybox.privileged', /unknown key "privileged"/],
    ['a mount', '    binds: ["/:/host"]\n', 'images.busybox.binds', /unknown key "binds"/],
    ['tiny memory', '    memoryMb: 1\n', 'images.busybox.memoryMb', /Too small/i],
  ])('refuses %s with file:line and the field', (_what, extra, field, message) => {
    const error = failure(image(extra));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(
      new RegExp(`^docker-runner\\.yaml:5:\\d+: ${field.replaceAll('.', '\\.')}: `),
    );
    expect(error.message).toMatch(message);
  });

  it('refuses a digest that is not sha256 hex, at its line', () => {
    const error = failure('images:\n  busybox:\n    ref: busybox\n    digest: latest\n');
    expect(error.message).toMatch(
      /^docker-runner\.yaml:4:13: images\.busybox\.digest: digest must be sha256/,
    );
  });

  it('refuses image names Docker would not accept as ours, and a missing images map', () => {
    expect(failure(`images:\n  Busy Box:\n    ref: x\n    digest: ${digest}\n`).message).toMatch(
      /^docker-runner\.yaml:2:3: images\["Busy Box"\]: invalid key: image names must match/,
    );
    expect(failure('fleet: a\n').message).toMatch(/images: is required/);
  });

  it('reports a missing file as ERR_CONFIG_NOT_FOUND and loads a real one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpcp-runner-file-'));
    try {
      await expect(loadRunnerConfig(path.join(dir, 'nope.yaml'))).rejects.toMatchObject({
        code: 'ERR_CONFIG_NOT_FOUND',
      });
      await writeFile(path.join(dir, 'ok.yaml'), image('    memoryMb: 512\n'));
      expect((await loadRunnerConfig(path.join(dir, 'ok.yaml'))).images.busybox?.memoryMb).toBe(512);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses docker-runner.example.yaml', async () => {
    const config = await loadRunnerConfig(path.join(repoRoot, 'docker-runner.example.yaml'));
    expect(Object.keys(config.images).length).toBeGreaterThan(0);
  });
});
