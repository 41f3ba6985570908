// Assembles the channels server: the store (SQLite in the data folder, or PostgreSQL from --store / DATABASE_URL), the head signer from the fleet keys, the bot runner
// and the builtin bots, the service, and the per-caller MCP surface. Used by main.ts (process) and tests (in-process).
import { issueChildToken } from '../../auth/internal.ts';
import { loadSigner } from '../../auth/keys.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import type { Logger } from '../../lib/log.ts';
import type { KitApp, KitContext, KitServerSpec } from '../_kit/main.ts';
import { createMcpBotRunner } from '../bot-runner/mcp-runner.ts';
import { createInProcessBotRunner, type BotRunner } from '../bot-runner/runner.ts';
import { createHeadSigner } from './receipts.ts';
import { ChannelService, type BuiltinBot, type ChannelLimits } from './service.ts';
import { openChannelStore } from './store/open.ts';
import type { ChannelStore } from './store/types.ts';
import { channelUri, createChannelsMcpServer, mayHearChannel } from './tools.ts';

export interface ChannelsAppOptions {
  store?: ChannelStore;
  runner?: BotRunner;
  limits?: Partial<ChannelLimits>;
}

type BuiltinModule = { builtinBot(name: string): BuiltinBot | undefined };

async function loadBuiltin(name: string): Promise<BuiltinBot | undefined> {
  // Loaded on first use: the builtin bots are real .js source files read by that module.
  const modulePath = '../bot-runner/builtin/index.ts';
  const mod = (await import(modulePath)) as BuiltinModule;
  return mod.builtinBot(name);
}

export async function createChannelsApp(
  ctx: KitContext,
  options: ChannelsAppOptions = {},
): Promise<KitApp & { service: ChannelService }> {
  const signer = ctx.keysDir === undefined ? undefined : await loadSigner(ctx.keysDir);
  const store =
    options.store ??
    (await openChannelStore(
      { flag: ctx.flags.store, databaseUrl: readRuntimeEnv().databaseUrl },
      { dataDir: ctx.dataDir, logger: ctx.logger },
    ));
  // Hooks run in this process unless a bot-runner server is named (then in its process, over MCP).
  const runnerUrl = ctx.flags['bot-runner-url'];
  const remote =
    options.runner === undefined && runnerUrl !== undefined
      ? await createMcpBotRunner({
          url: runnerUrl,
          ...(signer !== undefined && ctx.issuer !== undefined
            ? {
                token: () =>
                  issueChildToken(signer, {
                    issuer: ctx.issuer!,
                    child: ctx.flags['bot-runner-id'] ?? 'bot-runner',
                    agent: 'channels',
                  }),
              }
            : {}),
        })
      : undefined;
  const service = new ChannelService({
    store,
    runner: options.runner ?? remote ?? createInProcessBotRunner(),
    ...(signer ? { signHead: createHeadSigner(signer, ctx.issuer) } : {}),
    builtinBot: loadBuiltin,
    ...(options.limits ? { limits: options.limits } : {}),
    logger: ctx.logger,
  });
  const log: Logger = ctx.logger;
  return {
    service,
    factory: (caller) => createChannelsMcpServer(service, caller, log),
    ready: () => store.ping?.() ?? Promise.resolve(true),
    resourceUpdates: {
      subscribe: (emit) => service.notifier.subscribe((id) => emit(channelUri(id))),
      mayHear: (caller, uri) => mayHearChannel(service, caller, uri),
    },
    async close() {
      await remote?.close();
      await store.close();
    },
  };
}

export const channelsServerSpec: KitServerSpec = {
  name: 'channels',
  flags: {
    store:
      'where channel data lives: sqlite (default, DATA_DIR/channels.sqlite) or postgres://user:pass@host/db[?schema=NAME] (replicas share it); default DATABASE_URL',
    'bot-runner-url': 'run bot hooks on this bot-runner MCP server instead of in-process',
    'bot-runner-id': "the bot-runner's server id (aud of its child tokens), default bot-runner",
  },
  create: (ctx) => createChannelsApp(ctx),
};
