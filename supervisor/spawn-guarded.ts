// Spawns one child in its own process group, guarded so it can never outlive this process — not even when
// this process is killed with SIGKILL and gets no chance to clean up.
// How: next to each child runs a tiny watcher (`sh`, our direct child, so we reap it at once) holding one end
// of a pipe. We write the child's process group id into the pipe, then keep our end open. When this process
// dies for any reason the kernel closes our end; the watcher reads EOF and SIGKILLs the child's whole group.
// (Node cannot call prctl(PR_SET_PDEATHSIG); a pipe EOF is the portable "parent died" signal.)
// It must not decide anything about restarts or MCP; supervisor.ts does.
// node:child_process rather than execa: nothing here needs more than spawn, and execa (152 modules with its
// dependencies, ~3.5 MB of RSS and 1.7 MB of heap, measured) would load into the proxy and the launcher
// only for this.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex, Readable, Writable } from 'node:stream';
import { pickChildEnv } from '../lib/env.ts';

const watcherScript = [
  'read -r pgid <&3 || exit 0',
  'while read -r _ <&3; do :; done',
  'kill -s KILL -- "-$pgid" 2>/dev/null',
  'exit 0',
].join('\n');

export interface GuardedSpawnOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Configured env of the child; merged over the allow-listed parent env (never the whole process.env). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface GuardedChild {
  /** The Node child process; its pid is also its process group id. */
  readonly process: ChildProcess;
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Releases the watcher (call after the child's group is gone). */
  release(): void;
}

/** True until the child process has exited (or failed to spawn). */
export function isRunning(child: GuardedChild): boolean {
  return child.process.exitCode === null && child.process.signalCode === null;
}

export function spawnGuarded(options: GuardedSpawnOptions): GuardedChild {
  // The watcher starts first, so there is no moment when the child runs unguarded.
  const watcher = spawn('/bin/sh', ['-c', watcherScript], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    detached: true,
    env: pickChildEnv({}),
  });
  watcher.on('error', () => undefined);
  const pipe = watcher.stdio[3] as Duplex;
  pipe.on('error', () => undefined);
  // The env given is the child's whole environment (no inheritance); a failed spawn (ENOENT, EACCES) is an
  // 'error' event with no pid, which the caller's own listener reports.
  const subprocess = spawn(options.command, [...options.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: pickChildEnv(options.env ?? {}),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  subprocess.on('error', () => undefined);
  if (subprocess.pid === undefined) pipe.destroy();
  else pipe.write(`${subprocess.pid}\n`);
  return {
    process: subprocess,
    pid: subprocess.pid,
    stdin: subprocess.stdin,
    stdout: subprocess.stdout,
    stderr: subprocess.stderr,
    release: () => pipe.destroy(),
  };
}

/** Signals every process of the child's group (the child and anything it forked). */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone.
  }
}

/** True while any process of the group is alive. */
export function isGroupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
