// What the runner's services share: the runner file, the engine, the concurrency gate, the allowlist, the logger,
// the engine-readiness step and the closing check; and what a call brings for live output. Types only.
import type { RunnerConfig } from '../../config/docker-runner.ts';
import type { Logger } from '../../lib/log.ts';
import type { Allowlist } from './allowlist.ts';
import type { Engine } from './engine.ts';
import type { Gate } from './gate.ts';
import type { OutputChunk } from './output.ts';

export interface RunnerParts {
  readonly config: RunnerConfig;
  readonly engine: Engine;
  readonly gate: Gate;
  readonly allowlist: Allowlist;
  readonly log: Logger;
  /** Reaches the engine and removes the fleet's leftovers, once; ERR_DOCKER_UNAVAILABLE until the engine answers. */
  ready(): Promise<void>;
  /** Throws ERR_UPSTREAM_UNAVAILABLE once the runner is closing. */
  open(): void;
}

/** Live output and cancellation of one call. */
export interface Live {
  readonly onChunk?: ((chunk: OutputChunk) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}
