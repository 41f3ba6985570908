// Sessions for multi-step work: a container per session started from the image's profile (it sleeps until used),
// exec and file operations in it under the concurrency gate, stop on request, when idle or at its maximum life, and
// removal of every session container at close. Ownership is the session table's: another agent's session does not
// exist for the caller. It must not know about MCP.
import { McpcpError } from '../../lib/errors.ts';
import { callStdin, callTimeout } from './allowlist.ts';
import { execInContainer, type ExecOutcome, type ExecRun } from './exec.ts';
import {
  decodeContent,
  encodeContent,
  parseMode,
  readCommand,
  resolveFilePath,
  writeCommand,
} from './files.ts';
import { containerLabels } from './labels.ts';
import type { Live, RunnerParts } from './parts.ts';
import { createOptions, execOptions, narrowCall } from './profile.ts';
import { dueSessions, newSessionId, SessionTable, type Session } from './sessions.ts';

export interface SessionInfo {
  readonly session_id: string;
  readonly image: string;
  readonly started_at: string;
  readonly last_used_at: string;
  /** When the session ends if it stays unused, and at the latest. */
  readonly idle_until: string;
  readonly ends_by: string;
}

interface SessionEntry extends Session {
  /** The session's environment (profile + session_start's env), used by every exec. */
  readonly env: string[];
  /** Aborted when the session ends, so its execs in flight report `killed`. */
  readonly ended: AbortController;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SessionService {
  readonly #parts: RunnerParts;
  readonly #table: SessionTable;
  readonly #sweeper: NodeJS.Timeout;

  constructor(parts: RunnerParts, options: { sweepMs?: number | undefined } = {}) {
    this.#parts = parts;
    this.#table = new SessionTable(parts.config.sessions);
    this.#sweeper = setInterval(() => void this.#expire(), options.sweepMs ?? 1_000);
    this.#sweeper.unref();
  }

  async start(
    agent: string,
    input: { image: string; env?: Record<string, string> | undefined },
  ): Promise<SessionInfo> {
    const { config, engine, gate, allowlist, log } = this.#parts;
    this.#parts.open();
    const profile = allowlist.profile(agent, input.image);
    // Idle until used; the maximum life ends it anyway (a runner killed meanwhile leaves nothing that runs forever).
    const command = profile.sessionCommand ?? [
      'sleep',
      String(Math.ceil(config.sessions.maxLifeMs / 1000) + 60),
    ];
    const { env, workdir } = narrowCall(profile, { command, env: input.env });
    this.#table.checkRoom(agent);
    await this.#parts.ready();
    const imageId = await engine.resolveImage(input.image, profile);
    const release = await gate.acquire();
    try {
      this.#parts.open();
      this.#table.checkRoom(agent);
      const id = newSessionId();
      const labels = containerLabels({
        fleet: config.fleet,
        agent,
        kind: 'session',
        image: input.image,
        session: id,
      });
      const container = await engine.docker
        .createContainer(createOptions({ profile, imageId, command, env, workdir, labels, stdin: false }))
        .catch((error: unknown) => {
          throw new McpcpError('ERR_INTERNAL', 'could not create the session container', { cause: error });
        });
      try {
        await container.start();
      } catch (error) {
        await engine.remove(container.id);
        throw new McpcpError('ERR_INTERNAL', 'could not start the session container', { cause: error });
      }
      const now = Date.now();
      const session: SessionEntry = {
        id,
        agent,
        image: input.image,
        containerId: container.id,
        startedAt: now,
        lastUsedAt: now,
        busy: 0,
        env,
        ended: new AbortController(),
      };
      this.#table.add(session);
      log.info({ agent, session: id, image: input.image }, 'session started');
      return this.#info(session);
    } finally {
      release();
    }
  }

  #info(session: Session): SessionInfo {
    const { idleMs, maxLifeMs } = this.#table.limits;
    return {
      session_id: session.id,
      image: session.image,
      started_at: iso(session.startedAt),
      last_used_at: iso(session.lastUsedAt),
      idle_until: iso(Math.min(session.lastUsedAt + idleMs, session.startedAt + maxLifeMs)),
      ends_by: iso(session.startedAt + maxLifeMs),
    };
  }

  list(agent: string): SessionInfo[] {
    return this.#table.forAgent(agent).map((s) => this.#info(s));
  }

  async stop(agent: string, id: string): Promise<{ session_id: string; stopped: true }> {
    await this.#end(this.#table.owned(agent, id) as SessionEntry, 'asked');
    return { session_id: id, stopped: true };
  }

  async #end(session: SessionEntry, reason: string): Promise<void> {
    if (this.#table.take(session.id) === undefined) return;
    session.ended.abort();
    this.#parts.log.info({ agent: session.agent, session: session.id, reason }, 'session stopped');
    await this.#parts.engine.remove(session.containerId);
  }

  async #expire(): Promise<void> {
    for (const { session, reason } of dueSessions(this.#table.all(), Date.now(), this.#table.limits)) {
      await this.#end(session as SessionEntry, reason).catch((error: unknown) =>
        this.#parts.log.warn({ err: error, session: session.id }, 'could not stop an expired session'),
      );
    }
  }

  /** One exec in the caller's session under the gate; the session is busy (not idle) meanwhile. */
  async #inSession(
    agent: string,
    id: string,
    command: readonly string[],
    limits: { timeoutMs?: number | undefined; stdin?: Buffer | undefined; maxOutputBytes?: number },
    live: Live,
  ): Promise<ExecRun> {
    const { engine, gate, allowlist } = this.#parts;
    this.#parts.open();
    const session = this.#table.owned(agent, id) as SessionEntry;
    const profile = allowlist.profile(agent, session.image);
    const { workdir } = narrowCall(profile, { command });
    const timeoutMs = callTimeout(profile, limits.timeoutMs);
    session.busy += 1;
    try {
      const release = await gate.acquire(live.signal);
      try {
        this.#parts.open();
        return await execInContainer(
          engine,
          engine.docker.getContainer(session.containerId),
          execOptions({ profile, command, env: session.env, workdir, stdin: limits.stdin !== undefined }),
          {
            timeoutMs,
            maxOutputBytes: limits.maxOutputBytes ?? profile.maxOutputBytes,
            stdin: limits.stdin,
            onChunk: live.onChunk,
            signal:
              live.signal === undefined
                ? session.ended.signal
                : AbortSignal.any([live.signal, session.ended.signal]),
          },
          () => this.#end(session, 'exec overran'),
        );
      } finally {
        release();
      }
    } catch (error) {
      if (error instanceof McpcpError && error.code === 'ERR_SESSION_NOT_FOUND')
        await this.#end(session, 'gone');
      throw error;
    } finally {
      session.busy -= 1;
      session.lastUsedAt = Date.now();
    }
  }

  async exec(
    agent: string,
    input: {
      session_id: string;
      command: string[];
      stdin?: string | undefined;
      timeout_ms?: number | undefined;
    },
    live: Live = {},
  ): Promise<ExecOutcome> {
    const session = this.#table.owned(agent, input.session_id);
    const stdin = callStdin(this.#parts.allowlist.profile(agent, session.image), input.stdin);
    const run = await this.#inSession(
      agent,
      input.session_id,
      input.command,
      { timeoutMs: input.timeout_ms, stdin },
      live,
    );
    return run.result;
  }

  async writeFile(
    agent: string,
    input: { session_id: string; path: string; content: string; encoding?: 'utf8' | 'base64'; mode?: string },
  ): Promise<{ path: string; bytes: number }> {
    const session = this.#table.owned(agent, input.session_id);
    const profile = this.#parts.allowlist.profile(agent, session.image);
    const file = resolveFilePath(profile, input.path);
    const mode = parseMode(input.mode);
    const bytes = decodeContent(input.content, input.encoding ?? 'utf8', profile.maxFileBytes);
    const { result } = await this.#inSession(
      agent,
      input.session_id,
      writeCommand(file, mode),
      { stdin: bytes },
      {},
    );
    if (result.exit_code !== 0)
      throw new McpcpError(
        'ERR_INVALID_ARGUMENT',
        `write_file ${file} failed: ${result.stderr.trim() || result.exit_reason}`,
      );
    return { path: file, bytes: bytes.length };
  }

  async readFile(
    agent: string,
    input: { session_id: string; path: string },
  ): Promise<{ path: string; size: number; encoding: 'utf8' | 'base64'; content: string }> {
    const session = this.#table.owned(agent, input.session_id);
    const profile = this.#parts.allowlist.profile(agent, session.image);
    const file = resolveFilePath(profile, input.path);
    const max = profile.maxFileBytes;
    // Room for one byte more than allowed (to tell a larger file apart) and for an error message.
    const { result, raw } = await this.#inSession(
      agent,
      input.session_id,
      readCommand(file, max),
      { maxOutputBytes: max + 1 + 4_096 },
      {},
    );
    if (result.exit_code === 2 && raw.stdout.length === 0)
      throw new McpcpError('ERR_NOT_FOUND', `no file ${file} in this session`);
    if (result.exit_code !== 0)
      throw new McpcpError(
        'ERR_INVALID_ARGUMENT',
        `read_file ${file} failed: ${result.stderr.trim() || result.exit_reason}`,
      );
    if (raw.stdout.length > max)
      throw new McpcpError('ERR_LIMIT', `${file} is larger than ${max} bytes, this image's file limit`);
    return { path: file, size: raw.stdout.length, ...encodeContent(raw.stdout) };
  }

  /** Forgets every session and returns their container IDs (the caller removes them). */
  close(): string[] {
    clearInterval(this.#sweeper);
    const ids = this.#table.all().map((s) => s.containerId);
    for (const s of this.#table.all()) {
      this.#table.take(s.id);
      (s as SessionEntry).ended.abort();
    }
    return ids;
  }
}
