// The docker runner's MCP surface for one caller: eight tools with strict input schemas (an argument the schema does
// not name, such as `privileged` or `mounts`, is refused, not ignored), live output as progress notifications when the
// caller passed a progress token and as log notifications otherwise, failures as isError results with stable codes.
// A thin adapter over DockerRunnerService.
import { McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Logger } from '../../lib/log.ts';
import type { Caller } from '../_kit/caller.ts';
import { toolRun } from '../_kit/tool-result.ts';
import type { OutputChunk } from './output.ts';
import type { Live } from './parts.ts';
import type { DockerRunnerService } from './service.ts';

export const dockerRunnerServerInfo = { name: 'mcpcp-docker-runner', version: '0.1.0' } as const;

const image = z.string().min(1).max(64).describe('An image name from images()');
const command = z
  .array(z.string().max(65_536))
  .min(1)
  .max(1_024)
  .describe('Program and arguments, run as is (no shell unless you name one: ["sh", "-c", "…"])');
const env = z
  .record(z.string().max(128), z.string().max(32_768))
  .optional()
  .describe('Extra environment variables (the image profile fixes some; those cannot be replaced)');
const stdin = z
  .string()
  .max(64 * 1_048_576)
  .optional()
  .describe("Text written to the program's standard input");
const timeoutMs = z
  .int()
  .positive()
  .optional()
  .describe("Deadline in ms; at most the image's limit (the default). Past it the process is killed.");
const sessionId = z.string().min(1).max(64).describe('A session id from session_start (ses_…)');

export const dockerRunnerSchemas = {
  run: z.strictObject({
    image,
    command,
    stdin,
    env,
    workdir: z.string().max(1_024).optional().describe("The image's workdir (default) or a path below it"),
    timeout_ms: timeoutMs,
  }),
  session_start: z.strictObject({ image, env }),
  exec: z.strictObject({ session_id: sessionId, command, stdin, timeout_ms: timeoutMs }),
  write_file: z.strictObject({
    session_id: sessionId,
    path: z
      .string()
      .min(1)
      .max(1_024)
      .describe('Relative to the workdir, or absolute under the workdir or /tmp'),
    content: z.string().max(96 * 1_048_576),
    encoding: z.enum(['utf8', 'base64']).optional().describe('How content is written here (default utf8)'),
    mode: z.string().max(4).optional().describe('Octal permissions, default "644"'),
  }),
  read_file: z.strictObject({
    session_id: sessionId,
    path: z
      .string()
      .min(1)
      .max(1_024)
      .describe('Relative to the workdir, or absolute under the workdir or /tmp'),
  }),
  session_stop: z.strictObject({ session_id: sessionId }),
  sessions: z.strictObject({}),
  images: z.strictObject({}),
} as const;

const resultShape =
  'Returns {exit_code, stdout, stderr, truncated, duration_ms, exit_reason: exited|timeout|oom|output_limit|killed}.';

/** Live output for one call: progress under the caller's token if it sent one, else log lines (its log level decides). */
function liveFor(ctx: ServerContext): Live {
  const token = ctx.mcpReq._meta?.progressToken;
  const onChunk =
    token === undefined
      ? (chunk: OutputChunk) =>
          void ctx.mcpReq
            .log('info', { stream: chunk.stream, text: chunk.text }, 'docker-runner')
            .catch(() => undefined)
      : (chunk: OutputChunk) =>
          void ctx.mcpReq
            .notify({
              method: 'notifications/progress',
              params: {
                progressToken: token,
                progress: chunk.bytes,
                message: chunk.text,
                _meta: { 'io.mcpcp/stream': chunk.stream },
              },
            })
            .catch(() => undefined);
  return { onChunk, signal: ctx.mcpReq.signal };
}

export function createDockerRunnerMcpServer(
  service: DockerRunnerService,
  caller: Caller,
  log: Logger,
): McpServer {
  const server = new McpServer(dockerRunnerServerInfo, { capabilities: { tools: {}, logging: {} } });
  const agent = caller.agent;
  const s = dockerRunnerSchemas;

  server.registerTool(
    'run',
    {
      description:
        'Run a command in a fresh container of an allowed image (no network unless the image has one, read-only root, ' +
        'writable tmpfs at /tmp and the workdir, no privileges), then remove it. Output streams as progress. ' +
        resultShape,
      inputSchema: s.run,
    },
    (args, ctx) => toolRun(log, () => service.run(agent, args, liveFor(ctx))),
  );
  server.registerTool(
    'session_start',
    {
      description:
        'Start a container for several steps (exec, write_file, read_file). Only you can use it. It ends when unused ' +
        'for a while, at its maximum life, or on session_stop. Returns {session_id, image, idle_until, ends_by, …}.',
      inputSchema: s.session_start,
    },
    (args) => toolRun(log, () => service.sessions.start(agent, args)),
  );
  server.registerTool(
    'exec',
    {
      description:
        'Run a command in your session. Past its deadline the process is killed by stopping the session. ' +
        resultShape.replace('}.', ', session_stopped}.'),
      inputSchema: s.exec,
    },
    (args, ctx) => toolRun(log, () => service.sessions.exec(agent, args, liveFor(ctx))),
  );
  server.registerTool(
    'write_file',
    {
      description:
        'Write a file in your session (utf8 text, or base64 for binary), under the workdir or /tmp. Returns {path, bytes}.',
      inputSchema: s.write_file,
    },
    (args) => toolRun(log, () => service.sessions.writeFile(agent, args)),
  );
  server.registerTool(
    'read_file',
    {
      description:
        'Read a file from your session, under the workdir or /tmp (size-capped). Returns {path, size, encoding, content}: ' +
        'utf8 text, or base64 when the file is not valid UTF-8.',
      inputSchema: s.read_file,
    },
    (args) => toolRun(log, () => service.sessions.readFile(agent, args)),
  );
  server.registerTool(
    'session_stop',
    { description: 'Stop your session and remove its container.', inputSchema: s.session_stop },
    (args) => toolRun(log, () => service.sessions.stop(agent, args.session_id)),
  );
  server.registerTool(
    'sessions',
    {
      description: 'Your sessions: {sessions: [{session_id, image, started_at, idle_until, ends_by}]}.',
      inputSchema: s.sessions,
    },
    () => toolRun(log, () => ({ sessions: service.sessions.list(agent) })),
  );
  server.registerTool(
    'images',
    {
      description:
        'The images you may use, with their digests (what actually runs), whether the engine holds them, and limits.',
      inputSchema: s.images,
    },
    () => toolRun(log, async () => ({ images: await service.images(agent) })),
  );
  return server;
}
