// Hostile callers and hostile containers, each against the real engine through the proxy: privileges, mounts,
// devices, capabilities or a network smuggled in arguments or env; path traversal in write_file/read_file; a
// container that ignores SIGTERM. (A runner killed with SIGKILL mid-run: runner-restart.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../support/services.ts';
import {
  createdSince,
  docker,
  startRunnerFleet,
  ToolError,
  type RunnerAgent,
  type RunnerFleet,
} from './harness.ts';

interface RunResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  exit_reason: string;
}

/** The call's failure: a tool error (code) or a protocol error (the SDK's input validation), never a success. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolError) return { code: error.code, message: error.message };
    return { code: 'PROTOCOL', message: String((error as Error).message) };
  }
  throw new Error('expected the call to fail');
}

describe.runIf(serviceAvailable('docker'))(
  'docker runner against hostile input',
  { timeout: 120_000 },
  () => {
    let fleet: RunnerFleet;
    let alice: RunnerAgent;

    beforeAll(async () => {
      fleet = await startRunnerFleet();
      alice = await fleet.connect('alice');
    });
    afterAll(async () => {
      await fleet?.close();
    });

    it('refuses privileges, mounts, devices, capabilities and networks smuggled as arguments', async () => {
      const since = Date.now();
      const smuggled: Array<Record<string, unknown>> = [
        { privileged: true },
        { HostConfig: { Privileged: true, Binds: ['/:/host'] } },
        { binds: ['/var/run/docker.sock:/var/run/docker.sock'] },
        { mounts: [{ type: 'bind', source: '/', target: '/host' }] },
        { volumes: { '/host': {} } },
        { devices: ['/dev/sda:/dev/sda'] },
        { cap_add: ['SYS_ADMIN'] },
        { network: 'host' },
        { user: '0:0' },
        { security_opt: ['seccomp=unconfined'] },
      ];
      for (const extra of smuggled) {
        const refused = await failure(alice.call('run', { image: 'busybox', command: ['id'], ...extra }));
        expect(refused.message, JSON.stringify(extra)).toMatch(/Unrecognized key/);
        const session = await failure(alice.call('session_start', { image: 'busybox', ...extra }));
        expect(session.message, JSON.stringify(extra)).toMatch(/Unrecognized key/);
      }
      // Not one container was created for any of them (and the count does see one that is).
      expect(await createdSince(fleet.fleet, since)).toBe(0);
      await alice.call('run', { image: 'busybox', command: ['true'] });
      expect(await createdSince(fleet.fleet, since)).toBe(1);
    });

    it('refuses env names that are not identifiers, and env the profile fixes', async () => {
      for (const env of [{ '--privileged': 'true' }, { 'A=B': 'c' }, { 'X Y': '1' }, { '': 'x' }]) {
        const refused = await failure(alice.call('run', { image: 'busybox', command: ['true'], env }));
        expect(refused.code, JSON.stringify(env)).toBe('ERR_INVALID_ARGUMENT');
      }
      const fixed = await failure(
        alice.call('run', { image: 'busybox', command: ['true'], env: { LANG: 'x' } }),
      );
      expect(fixed).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      expect(fixed.message).toContain('LANG is fixed');
    });

    it('treats privilege-sounding env and arguments as plain strings: no capability, socket or root appears', async () => {
      const result = await alice.call<RunResult>('run', {
        image: 'busybox',
        command: [
          'sh',
          '-c',
          'echo "uid=$(id -u)"; grep -E "Cap(Eff|Bnd)" /proc/self/status; ls /var/run/docker.sock /dev/sda 2>&1; ' +
            'grep NoNewPrivs /proc/self/status; mount -t tmpfs x /mnt 2>&1; echo "$PRIVILEGED $DOCKER_HOST"',
          '--privileged',
          '--cap-add=ALL',
        ],
        env: {
          PRIVILEGED: 'true',
          CAP_ADD: 'ALL',
          DOCKER_HOST: 'unix:///var/run/docker.sock',
          DEVICES: '/dev/sda',
        },
      });
      expect(result.stdout).toContain('uid=65534');
      expect(result.stdout).toMatch(/CapEff:\s+0000000000000000/);
      expect(result.stdout).toMatch(/CapBnd:\s+0000000000000000/);
      expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
      expect(result.stdout).toMatch(/docker\.sock: No such file/);
      expect(result.stdout).toMatch(/\/dev\/sda: No such file/);
      expect(result.stdout).toMatch(/mount: .*(denied|not permitted)/i);
      expect(result.stdout).toContain('true unix:///var/run/docker.sock');
    });

    it('creates every container with the fixed hardened profile, whatever the call said', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', {
        image: 'busybox',
        env: { PRIVILEGED: 'true', NETWORK: 'host' },
      });
      try {
        const [info] = await fleet.containers();
        const inspected = await docker.getContainer(info!.Id).inspect();
        const host = inspected.HostConfig;
        expect(host).toMatchObject({
          Privileged: false,
          ReadonlyRootfs: true,
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          PidsLimit: 64,
          Memory: 64 * 1_048_576,
          MemorySwap: 64 * 1_048_576,
          NanoCpus: 1e9,
          Init: true,
        });
        expect(host.CapAdd ?? []).toEqual([]);
        expect(host.Binds ?? []).toEqual([]);
        expect(host.Mounts ?? []).toEqual([]);
        expect(host.Devices ?? []).toEqual([]);
        expect(inspected.Mounts).toEqual([]);
        expect(Object.keys(host.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/work']);
        expect(inspected.Config.User).toBe('65534:65534');
        expect(inspected.Image).toBe(fleet.images.busybox.id);
      } finally {
        await alice.call('session_stop', { session_id });
      }
    });

    it('refuses a workdir outside the profile', async () => {
      for (const workdir of ['/', '/etc', '/work/../etc', '../x', '/workshop']) {
        const refused = await failure(alice.call('run', { image: 'busybox', command: ['pwd'], workdir }));
        expect(refused.code, workdir).toBe('ERR_INVALID_ARGUMENT');
      }
      const below = await alice.call<RunResult>('run', {
        image: 'busybox',
        command: ['sh', '-c', 'pwd'],
        workdir: '/work/sub',
      });
      expect(below.stdout).toBe('/work/sub\n');
    });

    it('refuses path traversal in write_file and read_file', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      try {
        for (const path of [
          '../etc/passwd',
          '../../../../etc/passwd',
          '/etc/passwd',
          '/work/../etc/shadow',
          'a/../../etc/x',
          '/tmp/../etc/x',
          '/proc/self/environ',
          '/',
          '/work',
          'x\0y',
        ]) {
          const write = await failure(alice.call('write_file', { session_id, path, content: 'pwned' }));
          expect(write.code, `write ${path}`).toBe('ERR_INVALID_ARGUMENT');
          const read = await failure(alice.call('read_file', { session_id, path }));
          expect(read.code, `read ${path}`).toBe('ERR_INVALID_ARGUMENT');
        }
        // A symlink planted inside the container leads back into the container only, whose root is read-only.
        await alice.call('exec', { session_id, command: ['ln', '-s', '/etc', '/work/etc'] });
        const through = await failure(
          alice.call('write_file', { session_id, path: 'etc/passwd', content: 'x' }),
        );
        expect(through).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
        expect(through.message).toContain('Read-only file system');
      } finally {
        await alice.call('session_stop', { session_id });
      }
    });

    it('kills a container that ignores SIGTERM at its deadline, and removes it', async () => {
      const started = Date.now();
      const result = await alice.call<RunResult>('run', {
        image: 'busybox',
        command: ['sh', '-c', 'trap "" TERM INT; echo ready; while true; do sleep 1; done'],
        timeout_ms: 1_500,
      });
      expect(result).toMatchObject({ exit_reason: 'timeout', stdout: 'ready\n' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await fleet.containers()).toEqual([]);
    });

    it('stops a session whose processes ignore SIGTERM at once', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      await alice.call('exec', {
        session_id,
        command: [
          'sh',
          '-c',
          'trap "" TERM INT; (trap "" TERM; while true; do sleep 1; done) >/dev/null 2>&1 &',
        ],
      });
      const started = Date.now();
      await alice.call('session_stop', { session_id });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await fleet.containers()).toEqual([]);
    });
  },
);
