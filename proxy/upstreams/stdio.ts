// A stdio child: the proxy spawns it with an allow-listed environment, talks MCP over its pipes with
// the SDK's StdioClientTransport, and restarts it with backoff when it dies. One process serves all
// agents; the gateway attributes child requests to callers.
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Stream } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { McpcpError } from '../../lib/errors.ts';
import { pickChildEnv } from '../../lib/env.ts';
import type { Logger } from '../../lib/log.ts';
import type { StdioServerConfig } from '../../config/schema.ts';
import { createRestartTracker } from './backoff.ts';
import { createUpstreamClient } from './client.ts';
import type { Upstream, UpstreamConnection, UpstreamHooks, UpstreamStatus } from './types.ts';

export interface StdioUpstreamOptions {
  config: StdioServerConfig;
  hooks: UpstreamHooks;
  logger: Logger;
}

export function createStdioUpstream(options: StdioUpstreamOptions): Upstream {
  const { config, hooks } = options;
  const logger = options.logger.child({ upstream: config.id });
  const restarts = createRestartTracker(config.restart);
  let status: UpstreamStatus = { phase: 'starting' };
  let current: UpstreamConnection | undefined;
  let generation = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let stableTimer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];

  const setStatus = (next: UpstreamStatus): void => {
    status = next;
    hooks.onStateChange(config.id);
    if (next.phase !== 'starting') {
      const w = waiters;
      waiters = [];
      for (const wake of w) wake();
    }
  };

  const pipeStderr = (stream: Stream | null): void => {
    if (stream === null) return;
    const lines = createInterface({ input: stream as Readable });
    lines.on('line', (line) => logger.debug({ stderr: line }, 'child stderr'));
  };

  const scheduleRestart = (reason: string): void => {
    if (closed) return;
    const decision = restarts.onFailure();
    if (!decision.restart) {
      setStatus({ phase: 'down', lastError: reason });
      return;
    }
    setStatus({ phase: decision.crashLooping ? 'crash-looping' : 'down', lastError: reason });
    logger.warn({ delayMs: decision.delayMs, reason }, 'child down; restarting');
    timer = setTimeout(() => void connect(), decision.delayMs);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    generation += 1;
    const gen = generation;
    const transport = new StdioClientTransport({
      command: config.command,
      args: [...config.args],
      env: pickChildEnv(config.env),
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      stderr: 'pipe',
    });
    pipeStderr(transport.stderr);
    const ref: { conn?: UpstreamConnection } = {};
    const client = createUpstreamClient(hooks, () => ref.conn!);
    const conn: UpstreamConnection = { upstreamId: config.id, agent: undefined, client, generation: gen };
    ref.conn = conn;
    let settled = false;
    client.onclose = () => {
      if (gen !== generation || closed) return;
      if (stableTimer) clearTimeout(stableTimer);
      current = undefined;
      if (settled) scheduleRestart('child exited');
    };
    client.onerror = (error) => logger.debug({ err: error.message }, 'child transport error');
    try {
      await client.connect(transport, { timeout: config.readyTimeoutMs });
      settled = true;
      if (closed || gen !== generation) {
        await client.close();
        return;
      }
      current = conn;
      setStatus({ phase: 'ready', ...(transport.pid === null ? {} : { pid: transport.pid }) });
      logger.info({ pid: transport.pid }, 'child ready');
      stableTimer = setTimeout(() => restarts.reset(), config.restart.windowMs);
      stableTimer.unref();
    } catch (error) {
      settled = true;
      await client.close().catch(() => undefined);
      if (gen !== generation) return;
      scheduleRestart(error instanceof Error ? error.message : String(error));
    }
  };

  return {
    id: config.id,
    transport: 'stdio',
    async start() {
      await connect();
    },
    async connection() {
      if (current) return current;
      if (status.phase === 'starting') {
        await new Promise<void>((resolve) => waiters.push(resolve));
        if (current) return current;
      }
      throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', `server ${config.id} is unavailable`, {
        details: { server: config.id, phase: status.phase },
      });
    },
    anyConnection: () => current,
    discard() {
      // A stdio child has no session to forget; a broken pipe closes the client and restarts it.
    },
    status: () => status,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (stableTimer) clearTimeout(stableTimer);
      const conn = current;
      current = undefined;
      await conn?.client.close().catch(() => undefined);
      const w = waiters;
      waiters = [];
      for (const wake of w) wake();
    },
  };
}
