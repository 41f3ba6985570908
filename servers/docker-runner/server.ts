// Assembles the docker runner: its runner file (--runner-config, default <data-dir>/docker-runner.yaml), the one
// Docker connection, the service (which removes its fleet's leftovers at start) and the per-caller MCP surface. An
// engine that is not there yet is not fatal: the runner serves, and its tools answer ERR_DOCKER_UNAVAILABLE until
// dockerd answers. Used by main.ts (process) and tests (in-process).
import { join } from 'node:path';
import { loadRunnerConfig, type RunnerConfig } from '../../config/docker-runner.ts';
import { isMcpcpError } from '../../lib/errors.ts';
import type { KitApp, KitContext, KitServerSpec } from '../_kit/main.ts';
import { createEngine } from './engine.ts';
import { DockerRunnerService } from './service.ts';
import { createDockerRunnerMcpServer } from './tools.ts';

export interface DockerRunnerAppOptions {
  /** The parsed runner file (tests); otherwise read from --runner-config. */
  config?: RunnerConfig;
  sweepMs?: number;
}

export async function createDockerRunnerApp(
  ctx: KitContext,
  options: DockerRunnerAppOptions = {},
): Promise<KitApp & { service: DockerRunnerService }> {
  const config =
    options.config ??
    (await loadRunnerConfig(ctx.flags['runner-config'] ?? join(ctx.dataDir, 'docker-runner.yaml')));
  const engine = createEngine(config.socket);
  const service = new DockerRunnerService({
    config,
    engine,
    logger: ctx.logger,
    ...(options.sweepMs === undefined ? {} : { sweepMs: options.sweepMs }),
  });
  try {
    await service.ready();
  } catch (error) {
    if (!isMcpcpError(error, 'ERR_DOCKER_UNAVAILABLE')) throw error;
    ctx.logger.warn(
      { socket: config.socket },
      `${error.message}; serving anyway, tools answer ERR_DOCKER_UNAVAILABLE`,
    );
  }
  return {
    service,
    factory: (caller) => createDockerRunnerMcpServer(service, caller, ctx.logger),
    close: () => service.close(),
  };
}

export const dockerRunnerServerSpec: KitServerSpec = {
  name: 'docker-runner',
  // Output streams as progress while a command runs: 2025-era sessions answer with a stream that carries it.
  sessionAnswers: 'sse',
  flags: { 'runner-config': 'the runner file (images and profiles); default <data-dir>/docker-runner.yaml' },
  create: (ctx) => createDockerRunnerApp(ctx),
};
