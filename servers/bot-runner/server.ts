// The bot-runner MCP server: one tool, run_hook, that runs a single bot hook in the QuickJS sandbox and returns the
// sandbox's BotHookOutput. Stateless: the caller (the channels server, or an agent trying a bot out) passes source,
// state and random position and persists what comes back. It must not store anything.
import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { KitServerSpec } from '../_kit/main.ts';
import { createInProcessBotRunner, type BotRunner } from './runner.ts';

export const botRunnerServerInfo = { name: 'mcpcp-bot-runner', version: '0.1.0' } as const;

export const runHookInput = z.object({
  source: z
    .string()
    .min(1)
    .max(256 * 1024),
  params: z.unknown().optional(),
  hook: z.enum(['init', 'join', 'message']),
  event: z.unknown().optional(),
  state: z.unknown().optional(),
  randomKey: z.string().regex(/^[0-9a-f]{64}$/, 'randomKey is 64 lowercase hex characters'),
  randomCounter: z.number().int().min(0),
  now: z.number().int().min(0),
  limits: z
    .object({
      memoryBytes: z.number().int().positive().optional(),
      instructions: z.number().int().positive().optional(),
      wallMs: z.number().int().positive().max(5_000).optional(),
    })
    .optional(),
});

export function createBotRunnerMcpServer(runner: BotRunner): McpServer {
  const server = new McpServer(botRunnerServerInfo, { capabilities: { tools: {} } });
  server.registerTool(
    'run_hook',
    {
      description:
        'Run one bot hook (init, join or message) in a fresh QuickJS sandbox. Returns posts, the new state, ' +
        'whether it changed, the random counter after the hook, and an ERR_BOT_* error if the hook failed.',
      inputSchema: runHookInput,
    },
    async (args) => {
      const output = await runner.run({
        source: args.source,
        params: args.params ?? null,
        hook: args.hook,
        event: args.event ?? null,
        state: args.state ?? null,
        randomKey: args.randomKey,
        randomCounter: args.randomCounter,
        now: args.now,
        ...(args.limits ? { limits: args.limits } : {}),
      });
      const result = { ...output, runnerVersion: runner.version };
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
    },
  );
  server.registerTool(
    'runner_info',
    { description: 'The engine version announced in bot:attach.', inputSchema: z.object({}) },
    () => {
      const info = { version: runner.version };
      return { content: [{ type: 'text', text: JSON.stringify(info) }], structuredContent: info };
    },
  );
  return server;
}

export const botRunnerServerSpec: KitServerSpec = {
  name: 'bot-runner',
  create: () => {
    const runner = createInProcessBotRunner();
    return Promise.resolve({
      factory: () => createBotRunnerMcpServer(runner),
      close: () => Promise.resolve(),
    });
  },
};
