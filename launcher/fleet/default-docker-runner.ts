// The docker runner's part of the embedded default fleet: written on first run only when a Docker engine answers.
// Its runner file allows the well-known base images the engine already holds (busybox, alpine, debian, ubuntu,
// python, node), each pinned to the image ID it has now, under the default hardened profile; nothing is pulled. Its
// fleet label is derived from the data folder, so two default fleets on one machine never remove each other's
// containers. It must not start processes.
import { createHash } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  defaultDockerSocket,
  listLocalImages,
  probeDockerEngine,
  type LocalImage,
} from '../../servers/docker-runner/probe.ts';

const baseImages = ['busybox', 'alpine', 'debian', 'ubuntu', 'python', 'node'] as const;

export type DefaultDockerRunner =
  | { readonly included: true; readonly runnerFile: string }
  | { readonly included: false; readonly socket: string; readonly reason: string };

/** The fleet label of a data folder's default runner. */
export function defaultRunnerFleet(dataDir: string): string {
  return `mcpcp-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12)}`;
}

/** Allowlist entries for the well-known base images among `local`: name → [ref, id]. Official names only. */
export function pickBaseImages(
  local: readonly LocalImage[],
): Array<{ name: string; ref: string; id: string }> {
  const picked: Array<{ name: string; ref: string; id: string }> = [];
  for (const image of local) {
    for (const tag of image.tags) {
      const [repository = '', version = 'latest'] = tag.replace(/^docker\.io\/(library\/)?/, '').split(':');
      if (!(baseImages as readonly string[]).includes(repository)) continue;
      const name =
        version === 'latest' ? repository : `${repository}-${version}`.replace(/[^a-z0-9._-]/g, '-');
      if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name) || picked.some((p) => p.name === name)) continue;
      picked.push({ name, ref: tag, id: image.id });
    }
  }
  return picked.sort((a, b) => a.name.localeCompare(b.name));
}

export function defaultRunnerFileText(options: {
  fleet: string;
  socket?: string;
  images: ReadonlyArray<{ name: string; ref: string; id: string }>;
}): string {
  const images =
    options.images.length === 0
      ? `images: {}
# The engine held none of ${baseImages.join(', ')} when this file was written. Add an image it holds:
#   busybox:
#     ref: busybox:latest
#     digest: sha256:…   # docker image inspect -f '{{.Id}}' busybox:latest
`
      : `images:
${options.images.map((i) => `  ${i.name}:\n    ref: ${JSON.stringify(i.ref)}\n    digest: ${i.id}`).join('\n')}
`;
  return `# The docker runner of the default fleet (see docker-runner.example.yaml for every setting). Written by
# \`mcpcp up\` on first run with the base images this Docker engine held then, each pinned to that image's ID: the
# runner never pulls, and runs an image by its ID, so a tag that moves later changes nothing here.
fleet: ${options.fleet}
socket: ${options.socket ?? defaultDockerSocket}
${images}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Decides whether the default fleet gets a docker runner: yes when the engine answers (its runner file is written
 * unless one exists), no with the reason when it does not.
 */
export async function ensureDefaultRunnerFile(
  dataDir: string,
  socket = defaultDockerSocket,
): Promise<DefaultDockerRunner> {
  const probe = await probeDockerEngine(socket);
  if (!probe.reachable) return { included: false, socket, reason: probe.reason };
  const runnerFile = join(resolve(dataDir), 'docker-runner.yaml');
  if (!(await exists(runnerFile))) {
    const images = pickBaseImages(await listLocalImages(socket).catch(() => []));
    await writeFile(
      runnerFile,
      defaultRunnerFileText({ fleet: defaultRunnerFleet(dataDir), socket, images }),
      {
        mode: 0o600,
      },
    );
  }
  return { included: true, runnerFile };
}
