// The one Docker connection (dockerode on the configured socket) and what the runner asks of the engine beyond a
// single container: is it there, which local image a profile's digest names (never pulled), and the removal of a
// fleet's leftovers. Engine failures become McpcpErrors here, once. It must not decide profiles or ownership.
import Docker from 'dockerode';
import type { ImageProfile } from '../../config/docker-runner.ts';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import { fleetFilter } from './labels.ts';

export interface ImageState {
  readonly present: boolean;
  /** The local image ID the digest resolved to (what containers are created from). */
  readonly id?: string | undefined;
  readonly sizeBytes?: number | undefined;
}

export interface Engine {
  readonly docker: Docker;
  readonly socket: string;
  /** Throws ERR_DOCKER_UNAVAILABLE when the engine does not answer. */
  ping(): Promise<void>;
  /** The local image ID for a profile's digest; ERR_IMAGE_MISSING when the engine does not hold it. */
  resolveImage(name: string, profile: ImageProfile): Promise<string>;
  imageState(profile: ImageProfile): Promise<ImageState>;
  /** Removes (force) every container labelled with this fleet; returns their IDs. */
  removeFleet(fleet: string): Promise<string[]>;
  /** Removes one container (force); a container that is already gone is fine. */
  remove(id: string): Promise<void>;
}

interface DockerError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

/** Maps a dockerode failure to an McpcpError (an McpcpError passes through). */
export function engineError(error: unknown, socket: string, what: string): McpcpError {
  if (isMcpcpError(error)) return error;
  const e = (error ?? {}) as DockerError;
  if (e.code !== undefined && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE'].includes(e.code)) {
    return new McpcpError(
      'ERR_DOCKER_UNAVAILABLE',
      `no Docker engine reachable at ${socket} (${e.code}); start dockerd, or fix socket: in the runner file`,
      { cause: error },
    );
  }
  const detail = e.json?.message ?? e.message ?? String(error);
  return new McpcpError('ERR_INTERNAL', `${what}: ${detail}`, {
    cause: error,
    details: { status: e.statusCode },
  });
}

export function statusOf(error: unknown): number | undefined {
  return (error as DockerError | null)?.statusCode;
}

/** `registry/name:tag@sha…` → `registry/name`. */
function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export function createEngine(socket: string): Engine {
  const docker = new Docker({ socketPath: socket });
  const resolved = new Map<string, string>();

  async function lookUp(profile: ImageProfile): Promise<Docker.ImageInspectInfo | undefined> {
    // An image ID resolves as itself; a repo digest through repository@digest. Both are content addresses.
    for (const name of [profile.digest, `${repositoryOf(profile.ref)}@${profile.digest}`]) {
      try {
        const info = await docker.getImage(name).inspect();
        if (
          info.Id === profile.digest ||
          (info.RepoDigests ?? []).some((d) => d.endsWith(`@${profile.digest}`))
        )
          return info;
      } catch (error) {
        if (statusOf(error) !== 404 && statusOf(error) !== 400)
          throw engineError(error, socket, 'image inspect');
      }
    }
    return undefined;
  }

  return {
    docker,
    socket,
    async ping() {
      try {
        await docker.ping();
      } catch (error) {
        const mapped = engineError(error, socket, 'ping');
        throw mapped.code === 'ERR_DOCKER_UNAVAILABLE'
          ? mapped
          : new McpcpError('ERR_DOCKER_UNAVAILABLE', `the Docker engine at ${socket} did not answer`, {
              cause: error,
            });
      }
    },
    async resolveImage(name, profile) {
      const known = resolved.get(profile.digest);
      if (known !== undefined) return known;
      const info = await lookUp(profile);
      if (info === undefined) {
        throw new McpcpError(
          'ERR_IMAGE_MISSING',
          `image "${name}" (${profile.ref}, ${profile.digest}) is not on this Docker engine, and the runner never ` +
            'pulls: load or build it on the host (docker load / docker import / docker pull)',
        );
      }
      resolved.set(profile.digest, info.Id);
      return info.Id;
    },
    async imageState(profile) {
      const info = await lookUp(profile);
      return info === undefined ? { present: false } : { present: true, id: info.Id, sizeBytes: info.Size };
    },
    async removeFleet(fleet) {
      let found: Docker.ContainerInfo[];
      try {
        found = await docker.listContainers({ all: true, filters: fleetFilter(fleet) });
      } catch (error) {
        throw engineError(error, socket, 'list containers');
      }
      await Promise.all(found.map((c) => this.remove(c.Id)));
      return found.map((c) => c.Id);
    },
    async remove(id) {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        // Gone already, or already being removed by an earlier call: either way it will not be there.
        if (statusOf(error) === 404 || statusOf(error) === 409) return;
        throw engineError(error, socket, 'remove container');
      }
    },
  };
}
