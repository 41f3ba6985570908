// A BotRunner that runs hooks on a bot-runner MCP server (servers/bot-runner/server.ts) over Streamable HTTP, so the
// sandbox can live in its own process. One MCP client, reconnected when the connection fails.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpcpError } from '../../lib/errors.ts';
import type { BotHookInput, BotHookOutput, BotRunner } from './runner.ts';

export interface McpBotRunnerOptions {
  url: string;
  /**
   * Bearer token (an internal child token with aud = the bot-runner's id), asked before every request: one token
   * per connection would expire under a connection that lives for days.
   */
  token?: () => Promise<string>;
  /** Attempts (250 ms apart) to reach the bot-runner at startup, default 40 (10 s). */
  startupRetries?: number;
}

export async function createMcpBotRunner(
  options: McpBotRunnerOptions,
): Promise<BotRunner & { close(): Promise<void> }> {
  let client: Client | undefined;
  async function connect(): Promise<Client> {
    const next = new Client({ name: 'mcpcp-channels', version: '0.1.0' });
    const token = options.token;
    await next.connect(
      new StreamableHTTPClientTransport(
        new URL(options.url),
        token === undefined ? {} : { authProvider: { token } },
      ),
    );
    return next;
  }
  async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        client ??= await connect();
        const result = await client.callTool({ name, arguments: args });
        if (result.isError === true) {
          throw new McpcpError(
            'ERR_UPSTREAM_UNAVAILABLE',
            `bot-runner ${name} failed: ${JSON.stringify(result.content)}`,
          );
        }
        return result.structuredContent as Record<string, unknown>;
      } catch (error) {
        const stale = client;
        client = undefined;
        await stale?.close().catch(() => undefined);
        if (attempt >= 1) throw error;
      }
    }
  }
  // The bot-runner may still be starting (a fleet starts children in parallel): retry for a while.
  let info: Record<string, unknown> | undefined;
  for (let attempt = 0; info === undefined; attempt += 1) {
    try {
      info = await call('runner_info', {});
    } catch (error) {
      if (attempt >= (options.startupRetries ?? 40)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    version: String(info.version),
    async run(input: BotHookInput): Promise<BotHookOutput> {
      const output = await call('run_hook', { ...input });
      return output as unknown as BotHookOutput;
    },
    async close() {
      await client?.close().catch(() => undefined);
      client = undefined;
    },
  };
}
