import { describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../config/docker-runner.ts';
import {
  decodeContent,
  encodeContent,
  parseMode,
  readCommand,
  resolveFilePath,
  writeCommand,
} from '../../../servers/docker-runner/files.ts';

const profile = parseRunnerConfig(
  `images:\n  b:\n    ref: b\n    digest: sha256:${'e'.repeat(64)}\n`,
  'r.yaml',
).images.b!;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'accepted';
}

describe('file paths', () => {
  it('takes relative paths from the workdir and absolute ones under the workdir or /tmp', () => {
    expect(resolveFilePath(profile, 'main.py')).toBe('/work/main.py');
    expect(resolveFilePath(profile, 'src/./a.txt')).toBe('/work/src/a.txt');
    expect(resolveFilePath(profile, '/work/x/y')).toBe('/work/x/y');
    expect(resolveFilePath(profile, '/tmp/blob')).toBe('/tmp/blob');
  });

  it.each([
    '../etc/passwd',
    '/work/../etc/passwd',
    'a/../../etc/passwd',
    'a/..',
    '/etc/passwd',
    '/proc/self/environ',
    '/var/run/docker.sock',
    '/tmpfoo/x',
    '/workx',
    '/',
    '/work',
    '/tmp',
    '/work/dir/',
    '',
    'x\0y',
    'a'.repeat(1_025),
  ])('refuses %j', (path) => {
    expect(code(() => resolveFilePath(profile, path))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('passes path and mode as arguments, never inside the shell text', () => {
    const evil = '/work/$(reboot);`id`"\'.txt';
    const write = writeCommand(evil, '644');
    expect(write.slice(0, 3)).toEqual([
      'sh',
      '-c',
      'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1"',
    ]);
    expect(write.slice(4)).toEqual([evil, '644']);
    expect(readCommand(evil, 10).slice(4)).toEqual([evil, '11']);
  });
});

describe('file content', () => {
  it('accepts octal modes only', () => {
    expect(parseMode(undefined)).toBe('644');
    expect(parseMode('0755')).toBe('755');
    expect(parseMode('600')).toBe('600');
    for (const bad of ['u+s', '4755', '999', '7', 'rwx', '0o755'])
      expect(
        code(() => parseMode(bad)),
        bad,
      ).toBe('ERR_INVALID_ARGUMENT');
  });

  it('decodes utf8 and base64 within the size cap', () => {
    expect(decodeContent('héllo', 'utf8', 10)).toEqual(Buffer.from('héllo'));
    expect(decodeContent(Buffer.from([0, 255]).toString('base64'), 'base64', 10)).toEqual(
      Buffer.from([0, 255]),
    );
    expect(code(() => decodeContent('x'.repeat(11), 'utf8', 10))).toBe('ERR_LIMIT');
    expect(code(() => decodeContent('not base64!', 'base64', 100))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('returns text as utf8 and anything else as base64', () => {
    expect(encodeContent(Buffer.from('naïve'))).toEqual({ encoding: 'utf8', content: 'naïve' });
    expect(encodeContent(Buffer.from([0xff, 0xfe, 0x00]))).toEqual({ encoding: 'base64', content: '//4A' });
  });
});
