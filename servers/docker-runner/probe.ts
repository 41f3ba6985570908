// Is a Docker engine answering on this socket, and which images does it hold: two plain HTTP requests over the unix
// socket (GET /_ping, GET /images/json) with a short deadline, for the launcher (`mcpcp up`, the default fleet), which
// must stay fast and must not load dockerode. It must not change anything on the engine.
import { request } from 'node:http';

export const defaultDockerSocket = '/var/run/docker.sock';

export type EngineProbe = { reachable: true } | { reachable: false; reason: string };

function get(socket: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Whether the engine answers /_ping; the reason (ENOENT, EACCES, a timeout…) when it does not. */
export async function probeDockerEngine(
  socket = defaultDockerSocket,
  timeoutMs = 1_500,
): Promise<EngineProbe> {
  try {
    const { status, body } = await get(socket, '/_ping', timeoutMs);
    if (status === 200 && body.trim() === 'OK') return { reachable: true };
    return { reachable: false, reason: `unexpected answer ${status} to /_ping` };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { reachable: false, reason: e.code ?? e.message };
  }
}

export interface LocalImage {
  /** Image ID (sha256:…). */
  readonly id: string;
  /** repository:tag names, e.g. busybox:latest. */
  readonly tags: readonly string[];
}

/** The images the engine holds (tagged ones only). */
export async function listLocalImages(
  socket = defaultDockerSocket,
  timeoutMs = 3_000,
): Promise<LocalImage[]> {
  const { status, body } = await get(socket, '/images/json', timeoutMs);
  if (status !== 200) throw new Error(`unexpected answer ${status} to /images/json`);
  const images = JSON.parse(body) as Array<{ Id: string; RepoTags?: string[] | null }>;
  return images
    .map((image) => ({ id: image.Id, tags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>') }))
    .filter((image) => image.tags.length > 0);
}
