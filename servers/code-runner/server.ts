// The code-runner MCP server: run_python, run_javascript and runtimes for one caller, over the shared CodeRunner
// (runner.ts). A thin adapter: it validates input with zod, streams output as log/progress notifications while the
// program runs, and answers with the structured result plus its text rendering. A program's failure is a result
// with isError and an exit_reason; a runner that cannot serve (busy, Python unavailable) is an isError result with
// a stable code. It must not run code itself.
import { join } from 'node:path';
import { McpServer, type CallToolResult, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { Caller } from '../_kit/caller.ts';
import type { KitServerSpec } from '../_kit/main.ts';
import { runJavascriptInput, runOutput, runPythonInput, type RunOutput } from './limits.ts';
import { createOutputNotifier } from './output-notifier.ts';
import { renderRunText } from './render.ts';
import { createCodeRunner, type CodeRunner, type CodeRunnerOptions } from './runner.ts';

export const codeRunnerServerInfo = { name: 'mcpcp-code-runner', version: '0.1.0' } as const;

function notifierFor(ctx: ServerContext) {
  const token = ctx.mcpReq._meta?.progressToken;
  return createOutputNotifier({
    log: (stream, text) => ctx.mcpReq.log('info', { stream, text }, 'code-runner'),
    ...(token === undefined
      ? {}
      : {
          progress: (bytes: number, message: string) =>
            ctx.mcpReq.notify({
              method: 'notifications/progress',
              params: { progressToken: token, progress: bytes, message },
            }),
        }),
  });
}

function answer(output: RunOutput): CallToolResult {
  return {
    content: [{ type: 'text', text: renderRunText(output) }],
    structuredContent: output,
    ...(output.exit_reason === 'ok' ? {} : { isError: true }),
  };
}

function refused(error: unknown, log: Logger, caller: Caller): CallToolResult {
  const known = isMcpcpError(error);
  if (!known) log.error({ err: error, agent: caller.agent }, 'code run failed');
  const text = known ? `${error.code}: ${error.message}` : 'ERR_INTERNAL: internal error';
  return { isError: true, content: [{ type: 'text', text }] };
}

export function createCodeRunnerMcpServer(runner: CodeRunner, caller: Caller, log: Logger): McpServer {
  const server = new McpServer(codeRunnerServerInfo, { capabilities: { tools: {}, logging: {} } });
  const run = async (
    language: string,
    ctx: ServerContext,
    start: (onOutput: ReturnType<typeof notifierFor>['listener']) => Promise<RunOutput>,
  ): Promise<CallToolResult> => {
    const notifier = notifierFor(ctx);
    try {
      const output = await start(notifier.listener);
      await notifier.flush();
      log.info(
        { agent: caller.agent, language, exit_reason: output.exit_reason, duration_ms: output.duration_ms },
        'code run',
      );
      return answer(output);
    } catch (error) {
      await notifier.flush();
      return refused(error, log, caller);
    }
  };
  server.registerTool(
    'run_python',
    {
      description:
        'Run a short Python program (CPython in Pyodide, standard library only, no network, no host files) and ' +
        'return its stdout, stderr, the value of its last expression, and why it ended (exit_reason: ok, error, ' +
        'timeout, memory, output_limit). `files` are written into the working folder first; `stdin` is what ' +
        'input() and sys.stdin read. Output streams as log notifications while it runs. Each run starts in a ' +
        'fresh interpreter: nothing carries over between runs.',
      inputSchema: runPythonInput,
      outputSchema: runOutput,
    },
    (args, ctx) => run('python', ctx, (onOutput) => runner.runPython(args, onOutput)),
  );
  server.registerTool(
    'run_javascript',
    {
      description:
        'Run a short JavaScript program (QuickJS: the language and its built-ins, no Node APIs, no network, no ' +
        'files) and return what console.log / console.error wrote, the value of its last expression (awaited ' +
        'when it is a promise), and why it ended (exit_reason). `stdin` is available as the global string ' +
        '`stdin`. Each run starts from a pristine context.',
      inputSchema: runJavascriptInput,
      outputSchema: runOutput,
    },
    (args, ctx) => run('javascript', ctx, (onOutput) => runner.runJavascript(args, onOutput)),
  );
  server.registerTool(
    'runtimes',
    {
      description:
        'What this runner has: language versions, engines, limits, the warm pools, and the Python modules ' +
        'available offline (the standard library; nothing can be installed).',
      inputSchema: z.object({}),
    },
    async () => {
      try {
        const report = await runner.runtimes();
        return {
          content: [{ type: 'text', text: JSON.stringify(report, null, 2) }],
          structuredContent: report,
        };
      } catch (error) {
        return refused(error, log, caller);
      }
    },
  );
  return server;
}

function poolSize(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 0 || size > 16) {
    throw new McpcpError('ERR_CONFIG_INVALID', `--${flag} must be an integer from 0 to 16, got ${value}`);
  }
  return size;
}

export function codeRunnerOptionsFromFlags(
  flags: Readonly<Record<string, string | undefined>>,
  dataDir: string,
): CodeRunnerOptions {
  return {
    pythonPool: poolSize(flags['python-pool'], 'python-pool', 2),
    jsWorkers: Math.max(1, poolSize(flags['js-workers'], 'js-workers', 1)),
    cacheDir: join(dataDir, 'cache'),
    ...(flags['python-snapshot'] === 'off' ? { snapshots: false } : {}),
  };
}

export const codeRunnerServerSpec: KitServerSpec = {
  name: 'code-runner',
  // Output streams as log/progress notifications while a program runs: 2025-era sessions answer over a stream.
  sessionAnswers: 'sse',
  flags: {
    'python-pool': 'warm Python interpreters to keep ready (0 turns Python off; default 2)',
    'js-workers': 'JavaScript worker threads (default 1)',
    'python-snapshot': '"off": interpreters load cold instead of from the memory snapshot',
  },
  create(ctx) {
    const runner = createCodeRunner({
      ...codeRunnerOptionsFromFlags(ctx.flags, ctx.dataDir),
      logger: ctx.logger,
    });
    return Promise.resolve({
      factory: (caller) => createCodeRunnerMcpServer(runner, caller, ctx.logger),
      close: () => runner.close(),
    });
  },
};
