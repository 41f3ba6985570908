// What `mcpcp up` says about Docker before it starts the fleet: when the config has a docker runner and no engine
// answers on its socket (the fleet still starts; the runner's tools answer ERR_DOCKER_UNAVAILABLE until one does),
// or when the embedded default was written without one. Silent when all is well. It must not start anything.
import { resolve } from 'node:path';
import { loadRunnerConfig } from '../config/docker-runner.ts';
import type { McpcpConfig } from '../config/schema.ts';
import { defaultDockerSocket, probeDockerEngine } from '../servers/docker-runner/probe.ts';

/** A type, not an interface: it is emitted as a JSON event (`mcpcp up --json`). */
export type DockerNotice = {
  readonly event: 'docker-engine';
  readonly reachable: boolean;
  readonly socket: string;
  readonly reason?: string | undefined;
  /** Ids of the config's docker runners (servers started from servers/docker-runner/main.ts). */
  readonly runners: readonly string[];
  readonly message: string;
};

/** The config's docker runners and the runner file each one is started with. */
export function dockerRunners(config: McpcpConfig): Array<{ id: string; runnerFile?: string | undefined }> {
  const found: Array<{ id: string; runnerFile?: string | undefined }> = [];
  for (const server of config.servers) {
    if (server.transport !== 'http' || server.start === undefined) continue;
    const args = server.start.args;
    if (!args.some((arg) => arg.replaceAll('\\', '/').endsWith('servers/docker-runner/main.ts'))) continue;
    const at = args.indexOf('--runner-config');
    const file = at >= 0 ? args[at + 1] : undefined;
    found.push({
      id: server.id,
      runnerFile: file === undefined ? undefined : resolve(server.start.cwd, file),
    });
  }
  return found;
}

async function socketOf(runnerFile: string | undefined): Promise<string> {
  if (runnerFile === undefined) return defaultDockerSocket;
  // A broken runner file is the runner's to report (with its lines) when it starts.
  return loadRunnerConfig(runnerFile).then(
    (config) => config.socket,
    () => defaultDockerSocket,
  );
}

export async function dockerNotice(
  config: McpcpConfig,
  options: { embedded: boolean; configFile: string },
): Promise<DockerNotice | undefined> {
  const runners = dockerRunners(config);
  if (runners.length === 0 && !options.embedded) return undefined;
  const socket = await socketOf(runners[0]?.runnerFile);
  const probe = await probeDockerEngine(socket);
  const ids = runners.map((r) => r.id);
  if (runners.length > 0) {
    if (probe.reachable) return undefined;
    return {
      event: 'docker-engine',
      reachable: false,
      socket,
      reason: probe.reason,
      runners: ids,
      message:
        `No Docker engine answers at ${socket} (${probe.reason}): ${ids.join(', ')} will start, but its tools answer ` +
        'ERR_DOCKER_UNAVAILABLE until one does (start dockerd; on Debian: apt-get install docker.io).',
    };
  }
  return {
    event: 'docker-engine',
    reachable: probe.reachable,
    socket,
    reason: probe.reachable ? undefined : probe.reason,
    runners: ids,
    message: probe.reachable
      ? `A Docker engine answers at ${socket} now, but ${options.configFile} was written without the docker runner: ` +
        'delete it to have it rewritten with one.'
      : `No Docker engine answers at ${socket} (${probe.reason}): this fleet has no docker runner. To add one, start ` +
        `dockerd (on Debian: apt-get install docker.io), then delete ${options.configFile} to have it rewritten.`,
  };
}
