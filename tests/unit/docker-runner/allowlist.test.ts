import { describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../config/docker-runner.ts';
import { callStdin, callTimeout, createAllowlist } from '../../../servers/docker-runner/allowlist.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const config = parseRunnerConfig(
  `images:
  busybox: { ref: busybox, digest: ${digest('a')}, timeoutMs: 5000, maxFileBytes: 1024 }
  python: { ref: python, digest: ${digest('b')}, agents: [alice] }
`,
  'r.yaml',
);
const allowlist = createAllowlist(config.images);

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('image allowlist', () => {
  it('lets an agent use listed images, and images that name agents only to those', () => {
    expect(allowlist.allowed('alice').map(([name]) => name)).toEqual(['busybox', 'python']);
    expect(allowlist.allowed('bob').map(([name]) => name)).toEqual(['busybox']);
    expect(allowlist.profile('alice', 'python').digest).toBe(digest('b'));
    const refused = failure(() => allowlist.profile('bob', 'python'));
    expect(refused).toMatchObject({ code: 'ERR_IMAGE_NOT_ALLOWED' });
    expect(refused.message).toBe('image "python" is not on this runner\'s allowlist; you may use: busybox');
  });

  it('never takes an inherited property for an image', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      expect(failure(() => allowlist.profile('alice', name)).code, name).toBe('ERR_IMAGE_NOT_ALLOWED');
  });

  it('says when no image is allowed at all', () => {
    const none = createAllowlist(parseRunnerConfig('images: {}\n', 'r.yaml').images);
    expect(failure(() => none.profile('a', 'busybox')).message).toContain('no image is allowed for you');
  });

  it("bounds a call's deadline and stdin by the profile", () => {
    const busybox = config.images.busybox!;
    expect(callTimeout(busybox, undefined)).toBe(5_000);
    expect(callTimeout(busybox, 100)).toBe(100);
    for (const bad of [0, -1, 5_001, 1.5])
      expect(failure(() => callTimeout(busybox, bad)).code, String(bad)).toBe('ERR_INVALID_ARGUMENT');
    expect(callStdin(busybox, undefined)).toBeUndefined();
    expect(callStdin(busybox, 'hi')).toEqual(Buffer.from('hi'));
    expect(failure(() => callStdin(busybox, 'x'.repeat(1_025))).code).toBe('ERR_LIMIT');
  });
});
