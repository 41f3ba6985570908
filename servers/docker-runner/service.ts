// The docker runner's facade: what each tool does for one calling agent. It joins the allowlist and profiles
// (config), the concurrency gate, the session table and the engine; containers are created only from a profile
// (profile.ts), and every one it creates is removed when its run ends, its session stops or the runner closes. At
// start it removes its fleet's leftovers (a runner killed mid-run leaves some). It must not know about MCP.
import type { ImageProfile, RunnerConfig } from '../../config/docker-runner.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { Engine } from './engine.ts';
import { execInContainer, type ExecOutcome } from './exec.ts';
import {
  decodeContent,
  encodeContent,
  parseMode,
  readCommand,
  resolveFilePath,
  writeCommand,
} from './files.ts';
import { createGate, type Gate } from './gate.ts';
import { containerLabels } from './labels.ts';
import type { OutputChunk } from './output.ts';
import { createOptions, execOptions, narrowCall } from './profile.ts';
import { runContainer } from './run-container.ts';
import type { RunResult } from './run-result.ts';
import { dueSessions, newSessionId, SessionTable, type Session } from './sessions.ts';

export interface Live {
  readonly onChunk?: ((chunk: OutputChunk) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface RunInput {
  image: string;
  command: string[];
  stdin?: string | undefined;
  env?: Record<string, string> | undefined;
  workdir?: string | undefined;
  timeout_ms?: number | undefined;
}

export interface ImageListing {
  readonly name: string;
  readonly ref: string;
  readonly digest: string;
  readonly present: boolean;
  readonly description?: string | undefined;
  readonly limits: {
    readonly memory_mb: number;
    readonly cpus: number;
    readonly pids: number;
    readonly network: string;
    readonly timeout_ms: number;
    readonly max_output_bytes: number;
  };
}

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
  readonly env: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export class DockerRunnerService {
  readonly #config: RunnerConfig;
  readonly #engine: Engine;
  readonly #log: Logger;
  readonly #gate: Gate;
  readonly #sessions: SessionTable;
  /** One-shot containers in flight, removed on close. */
  readonly #running = new Set<string>();
  readonly #sweeper: NodeJS.Timeout;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: { config: RunnerConfig; engine: Engine; logger: Logger; sweepMs?: number }) {
    this.#config = options.config;
    this.#engine = options.engine;
    this.#log = options.logger;
    this.#gate = createGate(options.config.concurrency);
    this.#sessions = new SessionTable(options.config.sessions);
    this.#sweeper = setInterval(() => void this.#expire(), options.sweepMs ?? 1_000);
    this.#sweeper.unref();
  }

  /** Reaches the engine and removes this fleet's leftovers, once; an unreachable engine is retried on the next call. */
  ready(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#engine.ping();
      const removed = await this.#engine.removeFleet(this.#config.fleet);
      if (removed.length > 0)
        this.#log.warn(
          { fleet: this.#config.fleet, removed },
          'removed containers left by an earlier runner',
        );
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #open(): void {
    if (this.#closed) throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', 'the docker runner is shutting down');
  }

  /** The profile of an image this agent may use; ERR_IMAGE_NOT_ALLOWED names the ones it may. */
  #profile(agent: string, image: string): ImageProfile {
    const profile = Object.hasOwn(this.#config.images, image) ? this.#config.images[image] : undefined;
    if (profile === undefined || (profile.agents !== undefined && !profile.agents.includes(agent))) {
      const allowed = this.#allowed(agent).map(([name]) => name);
      throw new McpcpError(
        'ERR_IMAGE_NOT_ALLOWED',
        `image ${JSON.stringify(image)} is not on this runner's allowlist; ` +
          (allowed.length > 0 ? `you may use: ${allowed.join(', ')}` : 'no image is allowed for you'),
      );
    }
    return profile;
  }

  #allowed(agent: string): Array<[string, ImageProfile]> {
    return Object.entries(this.#config.images).filter(
      ([, p]) => p.agents === undefined || p.agents.includes(agent),
    );
  }

  #timeout(profile: ImageProfile, requested: number | undefined): number {
    if (requested === undefined) return profile.timeoutMs;
    if (!Number.isInteger(requested) || requested < 1 || requested > profile.timeoutMs)
      throw new McpcpError(
        'ERR_INVALID_ARGUMENT',
        `timeout_ms must be 1..${profile.timeoutMs} for this image (a call may only shorten it)`,
      );
    return requested;
  }

  #stdin(profile: ImageProfile, stdin: string | undefined): Buffer | undefined {
    return stdin === undefined ? undefined : decodeContent(stdin, 'utf8', profile.maxFileBytes);
  }

  async images(agent: string): Promise<ImageListing[]> {
    this.#open();
    await this.ready();
    return Promise.all(
      this.#allowed(agent).map(async ([name, p]) => ({
        name,
        ref: p.ref,
        digest: p.digest,
        present: (await this.#engine.imageState(p)).present,
        ...(p.description === undefined ? {} : { description: p.description }),
        limits: {
          memory_mb: p.memoryMb,
          cpus: p.cpus,
          pids: p.pidsLimit,
          network: p.network,
          timeout_ms: p.timeoutMs,
          max_output_bytes: p.maxOutputBytes,
        },
      })),
    );
  }

  async run(agent: string, input: RunInput, live: Live = {}): Promise<RunResult> {
    this.#open();
    const profile = this.#profile(agent, input.image);
    const { env, workdir } = narrowCall(profile, input);
    const timeoutMs = this.#timeout(profile, input.timeout_ms);
    const stdin = this.#stdin(profile, input.stdin);
    await this.ready();
    const imageId = await this.#engine.resolveImage(input.image, profile);
    const release = await this.#gate.acquire(live.signal);
    let id: string | undefined;
    try {
      this.#open();
      const options = createOptions({
        profile,
        imageId,
        command: input.command,
        env,
        workdir,
        labels: containerLabels({ fleet: this.#config.fleet, agent, kind: 'run', image: input.image }),
        stdin: stdin !== undefined,
      });
      return await runContainer(
        this.#engine,
        options,
        {
          timeoutMs,
          maxOutputBytes: profile.maxOutputBytes,
          stdin,
          onChunk: live.onChunk,
          signal: live.signal,
        },
        { onCreated: (created) => void this.#running.add((id = created)) },
      );
    } finally {
      if (id !== undefined) this.#running.delete(id);
      release();
    }
  }

  async sessionStart(
    agent: string,
    input: { image: string; env?: Record<string, string> },
  ): Promise<SessionInfo> {
    this.#open();
    const profile = this.#profile(agent, input.image);
    const sessionCommand = profile.sessionCommand ?? [
      'sleep',
      String(Math.ceil(this.#config.sessions.maxLifeMs / 1000) + 60),
    ];
    const { env, workdir } = narrowCall(profile, { command: sessionCommand, env: input.env });
    this.#sessions.checkRoom(agent);
    await this.ready();
    const imageId = await this.#engine.resolveImage(input.image, profile);
    const release = await this.#gate.acquire();
    try {
      this.#open();
      this.#sessions.checkRoom(agent);
      const id = newSessionId();
      const options = createOptions({
        profile,
        imageId,
        command: sessionCommand,
        env,
        workdir,
        labels: containerLabels({
          fleet: this.#config.fleet,
          agent,
          kind: 'session',
          image: input.image,
          session: id,
        }),
        stdin: false,
      });
      const container = await this.#engine.docker.createContainer(options).catch((error: unknown) => {
        throw new McpcpError('ERR_INTERNAL', 'could not create the session container', { cause: error });
      });
      try {
        await container.start();
      } catch (error) {
        await this.#engine.remove(container.id);
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
      };
      this.#sessions.add(session);
      this.#log.info({ agent, session: id, image: input.image }, 'session started');
      return this.#info(session);
    } finally {
      release();
    }
  }

  #info(session: Session): SessionInfo {
    const { idleMs, maxLifeMs } = this.#sessions.limits;
    return {
      session_id: session.id,
      image: session.image,
      started_at: iso(session.startedAt),
      last_used_at: iso(session.lastUsedAt),
      idle_until: iso(Math.min(session.lastUsedAt + idleMs, session.startedAt + maxLifeMs)),
      ends_by: iso(session.startedAt + maxLifeMs),
    };
  }

  sessions(agent: string): SessionInfo[] {
    return this.#sessions.forAgent(agent).map((s) => this.#info(s));
  }

  async sessionStop(agent: string, id: string): Promise<{ session_id: string; stopped: true }> {
    const session = this.#sessions.owned(agent, id);
    await this.#stop(session, 'asked');
    return { session_id: id, stopped: true };
  }

  async #stop(session: Session, reason: string): Promise<void> {
    if (this.#sessions.take(session.id) === undefined) return;
    this.#log.info({ agent: session.agent, session: session.id, reason }, 'session stopped');
    await this.#engine.remove(session.containerId);
  }

  async #expire(): Promise<void> {
    for (const { session, reason } of dueSessions(this.#sessions.all(), Date.now(), this.#sessions.limits)) {
      await this.#stop(session, reason).catch((error: unknown) =>
        this.#log.warn({ err: error, session: session.id }, 'could not stop an expired session'),
      );
    }
  }

  /** Runs one exec in the caller's session under the gate, keeping the session busy (not idle) meanwhile. */
  async #inSession(
    agent: string,
    id: string,
    command: readonly string[],
    limits: { timeoutMs?: number | undefined; stdin?: Buffer | undefined; maxOutputBytes?: number },
    live: Live,
  ) {
    this.#open();
    const session = this.#sessions.owned(agent, id) as SessionEntry;
    const profile = this.#profile(agent, session.image);
    const { workdir } = narrowCall(profile, { command });
    const timeoutMs = this.#timeout(profile, limits.timeoutMs);
    session.busy += 1;
    try {
      const release = await this.#gate.acquire(live.signal);
      try {
        this.#open();
        return await execInContainer(
          this.#engine,
          this.#engine.docker.getContainer(session.containerId),
          execOptions({ profile, command, env: session.env, workdir, stdin: limits.stdin !== undefined }),
          {
            timeoutMs,
            maxOutputBytes: limits.maxOutputBytes ?? profile.maxOutputBytes,
            stdin: limits.stdin,
            onChunk: live.onChunk,
            signal: live.signal,
          },
          () => this.#stop(session, 'exec overran'),
        );
      } finally {
        release();
      }
    } catch (error) {
      if (error instanceof McpcpError && error.code === 'ERR_SESSION_NOT_FOUND')
        await this.#stop(session, 'gone');
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
    const session = this.#sessions.owned(agent, input.session_id);
    const profile = this.#profile(agent, session.image);
    const stdin = this.#stdin(profile, input.stdin);
    const { result } = await this.#inSession(
      agent,
      input.session_id,
      input.command,
      { timeoutMs: input.timeout_ms, stdin },
      live,
    );
    return result;
  }

  async writeFile(
    agent: string,
    input: { session_id: string; path: string; content: string; encoding?: 'utf8' | 'base64'; mode?: string },
  ): Promise<{ path: string; bytes: number }> {
    const session = this.#sessions.owned(agent, input.session_id);
    const profile = this.#profile(agent, session.image);
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
    const session = this.#sessions.owned(agent, input.session_id);
    const profile = this.#profile(agent, session.image);
    const file = resolveFilePath(profile, input.path);
    const max = profile.maxFileBytes;
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

  /** Stops taking calls and removes every container this runner holds (runs in flight, sessions), then the fleet's. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    const ids = [...this.#running, ...this.#sessions.all().map((s) => s.containerId)];
    for (const s of this.#sessions.all()) this.#sessions.take(s.id);
    await Promise.allSettled(ids.map((id) => this.#engine.remove(id)));
    if (this.#ready !== undefined)
      await this.#engine
        .removeFleet(this.#config.fleet)
        .catch((error: unknown) =>
          this.#log.warn({ err: error }, 'could not remove the fleet containers at close'),
        );
  }
}
