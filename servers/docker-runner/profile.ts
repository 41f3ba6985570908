// The hardened profile as Docker options: a pure function of the image's fixed profile (config) and the few things
// a call may choose (command, extra env, a workdir below the image's, stdin). Nothing from a call reaches HostConfig:
// no privilege, capability, device, mount or network can be asked for, and the call's inputs are checked here first.
// It must not call Docker.
import path from 'node:path';
import type { ContainerCreateOptions, ExecCreateOptions, HostConfig } from 'dockerode';
import { isPlainAbsolutePath, type ImageProfile } from '../../config/docker-runner.ts';
import { McpcpError } from '../../lib/errors.ts';

/** What a call may choose. Everything else comes from the image's profile. */
export interface CallInput {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly workdir?: string | undefined;
}

export const callLimits = {
  commandItems: 1_024,
  commandBytes: 256 * 1_024,
  envVars: 64,
  envBytes: 64 * 1_024,
} as const;

const envName = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function invalid(message: string): McpcpError {
  return new McpcpError('ERR_INVALID_ARGUMENT', message);
}

/** Checks a call's command, env and workdir against the profile; returns the env list and workdir to use. */
export function narrowCall(profile: ImageProfile, call: CallInput): { env: string[]; workdir: string } {
  const { command } = call;
  if (command.length === 0) throw invalid('command must name a program: ["sh", "-c", "…"]');
  if (command.length > callLimits.commandItems)
    throw invalid(`command has more than ${callLimits.commandItems} items`);
  let size = 0;
  for (const part of command) {
    if (part.includes('\0')) throw invalid('command items must not contain NUL');
    size += Buffer.byteLength(part);
  }
  if (command[0] === '') throw invalid('command[0] must not be empty');
  if (size > callLimits.commandBytes)
    throw invalid(`command is larger than ${callLimits.commandBytes} bytes`);

  const extra = Object.entries(call.env ?? {});
  if (extra.length > callLimits.envVars) throw invalid(`env has more than ${callLimits.envVars} variables`);
  let envSize = 0;
  for (const [name, value] of extra) {
    if (!envName.test(name)) throw invalid(`env name ${JSON.stringify(name)} is not an identifier`);
    if (Object.hasOwn(profile.env, name))
      throw invalid(`env ${name} is fixed by the image's profile and cannot be replaced`);
    if (value.includes('\0')) throw invalid(`env ${name} must not contain NUL`);
    envSize += name.length + Buffer.byteLength(value) + 2;
  }
  if (envSize > callLimits.envBytes) throw invalid(`env is larger than ${callLimits.envBytes} bytes`);
  const env = [...Object.entries(profile.env), ...extra].map(([name, value]) => `${name}=${value}`);

  return { env, workdir: narrowWorkdir(profile, call.workdir) };
}

/** A call's workdir: the profile's, or a plain absolute path below it (relative paths are taken from it). */
export function narrowWorkdir(profile: ImageProfile, workdir: string | undefined): string {
  if (workdir === undefined) return profile.workdir;
  const absolute = workdir.startsWith('/') ? workdir : `${profile.workdir}/${workdir}`;
  const normal = path.posix.normalize(absolute).replace(/\/+$/, '');
  if (!isPlainAbsolutePath(absolute.replace(/\/+$/, '')) || !within(normal, profile.workdir))
    throw invalid(`workdir must be ${profile.workdir} or a plain path below it (no "..")`);
  return normal;
}

export function within(target: string, dir: string): boolean {
  return target === dir || target.startsWith(`${dir}/`);
}

/**
 * Both tmpfs mounts belong to the profile's user. (A mode option is no use: the engine copies the image's folder
 * into the tmpfs, with that folder's mode; the owner options hold.)
 */
function tmpfsOptions(profile: ImageProfile): string {
  const [uid, gid] = profile.user.split(':');
  return [
    'rw',
    'nosuid',
    'nodev',
    profile.tmpfsExec ? 'exec' : 'noexec',
    `size=${profile.tmpfsMb}m`,
    `uid=${uid}`,
    `gid=${gid}`,
    'mode=0700',
  ].join(',');
}

/** HostConfig of every container the runner creates: the same for a run and a session, whatever the call said. */
export function hostConfig(profile: ImageProfile): HostConfig {
  const memory = profile.memoryMb * 1_048_576;
  return {
    NetworkMode: profile.network,
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': tmpfsOptions(profile), [profile.workdir]: tmpfsOptions(profile) },
    CapDrop: ['ALL'],
    CapAdd: [],
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: profile.pidsLimit,
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: Math.round(profile.cpus * 1e9),
    Init: true,
    Binds: [],
    Mounts: [],
    Devices: [],
    IpcMode: 'private',
    ShmSize: 8 * 1_048_576,
    Ulimits: [{ Name: 'nofile', Soft: 1_024, Hard: 1_024 }],
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    // Output is streamed to the caller over attach; nothing is kept on the engine's disk.
    LogConfig: { Type: 'none', Config: {} },
  };
}

export function createOptions(input: {
  profile: ImageProfile;
  imageId: string;
  command: readonly string[];
  env: string[];
  workdir: string;
  labels: Record<string, string>;
  stdin: boolean;
}): ContainerCreateOptions {
  const { profile } = input;
  return {
    Image: input.imageId,
    Cmd: [...input.command],
    // The image's entrypoint is not run: the command is exactly what the caller (or the session) asked for.
    Entrypoint: [''],
    Env: input.env,
    WorkingDir: input.workdir,
    User: profile.user,
    Hostname: 'sandbox',
    Labels: input.labels,
    Tty: false,
    AttachStdin: input.stdin,
    OpenStdin: input.stdin,
    StdinOnce: input.stdin,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: profile.network === 'none',
    HostConfig: hostConfig(profile),
  };
}

export function execOptions(input: {
  profile: ImageProfile;
  command: readonly string[];
  env: string[];
  workdir: string;
  stdin: boolean;
}): ExecCreateOptions {
  return {
    Cmd: [...input.command],
    Env: input.env,
    WorkingDir: input.workdir,
    User: input.profile.user,
    Privileged: false,
    Tty: false,
    AttachStdin: input.stdin,
    AttachStdout: true,
    AttachStderr: true,
  };
}
