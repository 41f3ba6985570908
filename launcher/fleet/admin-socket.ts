// The local admin endpoint of a running fleet: HTTP over a Unix domain socket `<data-dir>/admin.sock`, mode 0600
// inside a 0700 folder, so only the operator's user can reach it. Routes: GET /status, POST /down, and for tool
// pins GET /tools, GET /tools/diff?server=&tool=, POST /tools/approve {server, tool, hash?}. The socket is held from
// the first moment of `mcpcp up` (answering 503 "starting" until the fleet is ready), so it is also the data
// folder's lock: a second `up` is refused before it starts anything.
// Also the client side used by `mcpcp status` and `mcpcp down`. It must not start or stop anything itself.
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { request, createServer, type IncomingMessage, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { McpcpError, isMcpcpError } from '../../lib/errors.ts';

export function adminSocketPath(dataDir: string): string {
  return join(resolve(dataDir), 'admin.sock');
}

/** Creates the data folder (0700) and tightens it when it already exists. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

export interface AdminHandlers {
  /** The fleet's status, or undefined while it is still starting (answered 503). */
  status(): unknown;
  /** Starts the shutdown (the response is sent before it completes); false while still starting (503). */
  down(): boolean;
  /** Tool-definition pins of the running proxy (undefined while starting or when pinning is off). */
  tools?(): AdminToolHandlers | undefined;
}

export interface AdminToolHandlers {
  list(): unknown;
  diff(server: string, tool: string): unknown;
  approve(server: string, tool: string, by: string, hash?: string): unknown;
}

const errorStatus: Partial<Record<string, number>> = {
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_INVALID_ARGUMENT: 400,
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 65_536) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
        done(typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});
      } catch (error) {
        fail(new McpcpError('ERR_INVALID_ARGUMENT', 'the body is not JSON', { cause: error }));
      }
    });
    req.on('error', fail);
  });
}

/**
 * Throws ERR_FLEET_RUNNING when a fleet holds the data folder's socket: one that answers, one still starting, or
 * one that does not answer in time (busy or hung, but there). Only "nothing listens" lets a new fleet start.
 */
export async function assertNoFleet(dataDir: string): Promise<void> {
  const path = adminSocketPath(dataDir);
  if (Buffer.byteLength(path) > 100) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `the admin socket path ${path} is too long for a Unix socket (max ~100 bytes); use a shorter --data-dir`,
    );
  }
  const answer = await adminRequest(dataDir, 'GET', '/status').catch((error: unknown) => error);
  if (isMcpcpError(answer, 'ERR_FLEET_NOT_RUNNING')) return;
  if (isMcpcpError(answer, 'ERR_FLEET_RUNNING')) throw answer;
  const pid = answer instanceof Error ? undefined : (answer as { pid?: number }).pid;
  throw new McpcpError(
    'ERR_FLEET_RUNNING',
    `a fleet is already running in ${dataDir}${pid ? ` (pid ${pid})` : ''}` +
      `${answer instanceof Error ? ` (its admin socket did not answer: ${answer.message})` : ''}` +
      `; stop it with \`mcpcp down --data-dir ${dataDir}\``,
    answer instanceof Error ? { cause: answer } : undefined,
  );
}

export async function startAdminServer(
  dataDir: string,
  handlers: AdminHandlers,
): Promise<{ close(): Promise<void> }> {
  await ensurePrivateDir(dataDir);
  await assertNoFleet(dataDir);
  const path = adminSocketPath(dataDir);
  await unlink(path).catch(() => undefined); // a stale socket from a fleet that was killed
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const starting = () => send(503, { starting: true, pid: process.pid });
    if (req.method === 'GET' && req.url === '/status') {
      const status = handlers.status();
      return status === undefined ? starting() : send(200, status);
    }
    if (req.method === 'POST' && req.url === '/down') {
      if (handlers.down()) return send(202, { stopping: true });
      return starting();
    }
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname.startsWith('/tools')) {
      if (handlers.status() === undefined) return starting();
      const tools = handlers.tools?.();
      if (tools === undefined)
        return send(409, {
          error: { code: 'ERR_CONFLICT', message: 'tool pinning is off (proxy.toolPins)' },
        });
      void (async () => {
        try {
          if (req.method === 'GET' && url.pathname === '/tools') return send(200, tools.list());
          if (req.method === 'GET' && url.pathname === '/tools/diff')
            return send(
              200,
              tools.diff(url.searchParams.get('server') ?? '', url.searchParams.get('tool') ?? ''),
            );
          if (req.method === 'POST' && url.pathname === '/tools/approve') {
            const body = await readJson(req);
            const hash = typeof body.hash === 'string' ? body.hash : undefined;
            return send(200, tools.approve(text(body.server), text(body.tool), 'mcpcp tools approve', hash));
          }
          return send(404, { error: 'unknown admin route' });
        } catch (error) {
          if (!isMcpcpError(error))
            return send(500, { error: { code: 'ERR_INTERNAL', message: 'internal error' } });
          return send(errorStatus[error.code] ?? 500, {
            error: { code: error.code, message: error.message },
          });
        }
      })();
      return;
    }
    return send(404, { error: 'unknown admin route' });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => done());
  });
  await chmod(path, 0o600);
  return {
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** One admin call. ERR_FLEET_NOT_RUNNING when nothing listens on the socket. */
export function adminRequest(
  dataDir: string,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 5_000,
  body?: unknown,
): Promise<unknown> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: adminSocketPath(dataDir), method, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            starting?: boolean;
            pid?: number;
          };
          if (res.statusCode === 503 && body.starting === true) {
            return fail(
              new McpcpError(
                'ERR_FLEET_RUNNING',
                `the fleet in ${dataDir} (pid ${String(body.pid)}) is still starting; try again when it is ready`,
              ),
            );
          }
          done(body);
        } catch (error) {
          fail(
            new McpcpError('ERR_INTERNAL', 'the fleet answered with something that is not JSON', {
              cause: error,
            }),
          );
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const gone = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      fail(
        gone
          ? new McpcpError(
              'ERR_FLEET_NOT_RUNNING',
              `no fleet is running in ${dataDir}; start one with \`mcpcp up\``,
              { cause: error },
            )
          : new McpcpError(
              'ERR_INTERNAL',
              `the fleet in ${dataDir} did not answer (${error.code ?? error.message})`,
              {
                cause: error,
              },
            ),
      );
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
