// The docker runner's facade: what each tool does for one calling agent. It owns the shared parts (runner file,
// engine, gate, allowlist), one-shot runs and the image listing, and hands sessions to SessionService. Containers are
// created only from a profile (profile.ts); every one is removed when its run ends, its session stops or the runner
// closes, and at start the runner removes its fleet's leftovers (a runner killed mid-run leaves some). It must not
// know about MCP.
import type { RunnerConfig } from '../../config/docker-runner.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { callStdin, callTimeout, createAllowlist } from './allowlist.ts';
import type { Engine } from './engine.ts';
import { createGate } from './gate.ts';
import { containerLabels } from './labels.ts';
import type { Live, RunnerParts } from './parts.ts';
import { createOptions, narrowCall } from './profile.ts';
import { runContainer } from './run-container.ts';
import type { RunResult } from './run-result.ts';
import { SessionService } from './session-service.ts';

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
  /** Whether the engine holds it now (the runner never pulls). */
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

export class DockerRunnerService {
  readonly #parts: RunnerParts;
  readonly sessions: SessionService;
  /** One-shot containers in flight, removed on close. */
  readonly #running = new Set<string>();
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: { config: RunnerConfig; engine: Engine; logger: Logger; sweepMs?: number }) {
    this.#parts = {
      config: options.config,
      engine: options.engine,
      gate: createGate(options.config.concurrency),
      allowlist: createAllowlist(options.config.images),
      log: options.logger,
      ready: () => this.ready(),
      open: () => {
        if (this.#closed)
          throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', 'the docker runner is shutting down');
      },
    };
    this.sessions = new SessionService(this.#parts, { sweepMs: options.sweepMs });
  }

  /** Reaches the engine and removes this fleet's leftovers, once; an unreachable engine is retried on the next call. */
  ready(): Promise<void> {
    const { engine, config, log } = this.#parts;
    this.#ready ??= (async () => {
      await engine.ping();
      const removed = await engine.removeFleet(config.fleet);
      if (removed.length > 0)
        log.warn({ fleet: config.fleet, removed }, 'removed containers left by an earlier runner');
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async images(agent: string): Promise<ImageListing[]> {
    this.#parts.open();
    await this.ready();
    return Promise.all(
      this.#parts.allowlist.allowed(agent).map(async ([name, p]) => ({
        name,
        ref: p.ref,
        digest: p.digest,
        present: (await this.#parts.engine.imageState(p)).present,
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
    const { config, engine, gate, allowlist } = this.#parts;
    this.#parts.open();
    const profile = allowlist.profile(agent, input.image);
    const { env, workdir } = narrowCall(profile, input);
    const timeoutMs = callTimeout(profile, input.timeout_ms);
    const stdin = callStdin(profile, input.stdin);
    await this.ready();
    const imageId = await engine.resolveImage(input.image, profile);
    const release = await gate.acquire(live.signal);
    let id: string | undefined;
    try {
      this.#parts.open();
      const labels = containerLabels({ fleet: config.fleet, agent, kind: 'run', image: input.image });
      return await runContainer(
        engine,
        createOptions({
          profile,
          imageId,
          command: input.command,
          env,
          workdir,
          labels,
          stdin: stdin !== undefined,
        }),
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

  /** Stops taking calls and removes every container this runner holds (runs in flight, sessions), then the fleet's. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const { engine, config, log } = this.#parts;
    const ids = [...this.#running, ...this.sessions.close()];
    await Promise.allSettled(ids.map((id) => engine.remove(id)));
    if (this.#ready !== undefined)
      await engine
        .removeFleet(config.fleet)
        .catch((error: unknown) =>
          log.warn({ err: error }, 'could not remove the fleet containers at close'),
        );
  }
}
