import { describe, expect, it } from 'vitest';
import { parseRunnerConfig, type ImageProfile } from '../../../config/docker-runner.ts';
import {
  createOptions,
  execOptions,
  hostConfig,
  narrowCall,
  narrowWorkdir,
} from '../../../servers/docker-runner/profile.ts';

const digest = `sha256:${'cd'.repeat(32)}`;
const profile: ImageProfile = parseRunnerConfig(
  `images:\n  py:\n    ref: python:3\n    digest: ${digest}\n    memoryMb: 100\n    pidsLimit: 50\n    cpus: 0.5\n    env: { LANG: C.UTF-8 }\n`,
  'r.yaml',
).images.py!;

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'accepted';
}

describe('the hardened profile', () => {
  it('is the same HostConfig whatever the call asks', () => {
    const calls = [
      { command: ['id'] },
      { command: ['sh', '-c', 'x'], env: { PRIVILEGED: 'true', CAP_ADD: 'ALL' }, workdir: '/work/sub' },
      { command: ['--privileged', '--network=host', '-v', '/:/host'] },
    ];
    const hosts = calls.map((call) => {
      const { env, workdir } = narrowCall(profile, call);
      return createOptions({
        profile,
        imageId: digest,
        command: call.command,
        env,
        workdir,
        labels: {},
        stdin: true,
      }).HostConfig;
    });
    for (const host of hosts) expect(host).toEqual(hostConfig(profile));
  });

  it('drops every capability, forbids new privileges, mounts nothing and has no network', () => {
    const host = hostConfig(profile);
    expect(host).toMatchObject({
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      Binds: [],
      Mounts: [],
      Devices: [],
      Init: true,
      PidsLimit: 50,
      Memory: 100 * 1_048_576,
      MemorySwap: 100 * 1_048_576,
      NanoCpus: 500_000_000,
      AutoRemove: false,
    });
    expect(host.Tmpfs).toEqual({
      '/tmp': 'rw,nosuid,nodev,noexec,size=64m,uid=65534,gid=65534,mode=0700',
      '/work': 'rw,nosuid,nodev,noexec,size=64m,uid=65534,gid=65534,mode=0700',
    });
  });

  it('creates from the digest, as the profile user, with the image entrypoint cleared', () => {
    const options = createOptions({
      profile,
      imageId: digest,
      command: ['echo', 'hi'],
      env: ['A=1'],
      workdir: '/work',
      labels: { a: 'b' },
      stdin: false,
    });
    expect(options).toMatchObject({
      Image: digest,
      Cmd: ['echo', 'hi'],
      Entrypoint: [''],
      User: '65534:65534',
      Env: ['A=1'],
      NetworkDisabled: true,
      OpenStdin: false,
      Tty: false,
    });
    expect(execOptions({ profile, command: ['id'], env: [], workdir: '/work', stdin: true })).toMatchObject({
      User: '65534:65534',
      Privileged: false,
      AttachStdin: true,
    });
  });

  it('puts the profile env first and refuses to replace it', () => {
    expect(narrowCall(profile, { command: ['x'], env: { B: '2' } }).env).toEqual(['LANG=C.UTF-8', 'B=2']);
    expect(refused(() => narrowCall(profile, { command: ['x'], env: { LANG: 'C' } }))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
  });

  it.each([
    ['an empty command', { command: [] }],
    ['an empty program', { command: [''] }],
    ['a NUL in an argument', { command: ['echo', 'a\0b'] }],
    ['an env name with "="', { command: ['x'], env: { 'A=B': '1' } }],
    ['an env name starting with a digit', { command: ['x'], env: { '1A': '1' } }],
    ['a NUL in an env value', { command: ['x'], env: { A: 'a\0' } }],
    [
      'too many env variables',
      { command: ['x'], env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, 'x'])) },
    ],
    ['a huge command', { command: ['x', 'y'.repeat(300 * 1024)] }],
  ])('refuses %s', (_what, call) => {
    expect(refused(() => narrowCall(profile, call))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('narrows the workdir to the profile workdir or below', () => {
    expect(narrowWorkdir(profile, undefined)).toBe('/work');
    expect(narrowWorkdir(profile, 'sub/dir')).toBe('/work/sub/dir');
    expect(narrowWorkdir(profile, '/work/sub/')).toBe('/work/sub');
    for (const bad of ['/', '/etc', '/work/../etc', '../etc', '/workshop', 'a/../../b', '/work/./x'])
      expect(
        refused(() => narrowWorkdir(profile, bad)),
        bad,
      ).toBe('ERR_INVALID_ARGUMENT');
  });
});
