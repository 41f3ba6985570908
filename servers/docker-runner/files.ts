// write_file and read_file, as plans for an exec in the session's container: which path (checked here: under the
// workdir or /tmp, no "..", no NUL), which command (the path is an argument, never shell text), what to send and how
// to read the answer. The files live on the container's tmpfs, which the engine's archive API cannot see, hence the
// exec; the image needs sh, cat, chmod, mkdir, head (busybox has them). It must not call Docker.
import path from 'node:path';
import { TextDecoder } from 'node:util';
import type { ImageProfile } from '../../config/docker-runner.ts';
import { McpcpError } from '../../lib/errors.ts';
import { within } from './profile.ts';

export const maxPathLength = 1_024;

/** The absolute container path for a file argument: relative to the workdir, or absolute under it or /tmp. */
export function resolveFilePath(profile: ImageProfile, requested: string): string {
  const refuse = (why: string) =>
    new McpcpError('ERR_INVALID_ARGUMENT', `path ${JSON.stringify(requested)} refused: ${why}`);
  if (requested === '' || requested.length > maxPathLength) throw refuse(`1 to ${maxPathLength} characters`);
  if (requested.includes('\0')) throw refuse('it contains NUL');
  const segments = requested.split('/');
  if (segments.some((s) => s === '..')) throw refuse('".." is not allowed');
  const absolute = path.posix.normalize(
    requested.startsWith('/') ? requested : `${profile.workdir}/${requested}`,
  );
  if (absolute.endsWith('/')) throw refuse('it names a folder');
  if (!within(absolute, profile.workdir) && !within(absolute, '/tmp'))
    throw refuse(`files live under ${profile.workdir} or /tmp`);
  if (absolute === profile.workdir || absolute === '/tmp') throw refuse('it names a folder');
  return absolute;
}

export function parseMode(mode: string | undefined): string {
  if (mode === undefined) return '644';
  if (!/^0?[0-7]{3}$/.test(mode))
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `mode ${JSON.stringify(mode)} must be octal like "644" or "0755"`,
    );
  return mode.replace(/^0(?=[0-7]{3}$)/, '');
}

export function decodeContent(content: string, encoding: 'utf8' | 'base64', maxBytes: number): Buffer {
  if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(content.replace(/\s+/g, '')))
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'content is not valid base64');
  const bytes = Buffer.from(content, encoding);
  if (bytes.length > maxBytes)
    throw new McpcpError(
      'ERR_LIMIT',
      `content is ${bytes.length} bytes; this image allows files up to ${maxBytes}`,
    );
  return bytes;
}

/** `sh -c` with the path and mode as positional arguments: they are never parsed as shell text. */
export function writeCommand(file: string, mode: string): string[] {
  return [
    'sh',
    '-c',
    'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1"',
    'write_file',
    file,
    mode,
  ];
}

/** Reads at most maxBytes + 1 bytes, so a larger file is told apart without reading all of it. */
export function readCommand(file: string, maxBytes: number): string[] {
  return [
    'sh',
    '-c',
    'test -f "$1" || { echo "no such file" >&2; exit 2; }; head -c "$2" -- "$1"',
    'read_file',
    file,
    String(maxBytes + 1),
  ];
}

/** UTF-8 text when the bytes are valid UTF-8, else base64. */
export function encodeContent(bytes: Buffer): { encoding: 'utf8' | 'base64'; content: string } {
  try {
    return { encoding: 'utf8', content: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { encoding: 'base64', content: bytes.toString('base64') };
  }
}
