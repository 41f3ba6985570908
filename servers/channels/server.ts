// Assembles the channels server: SQLite store in the data folder, the head signer from the fleet keys, the bot runner
// and the builtin bots, the service, and the per-caller MCP surface. Used by main.ts (process) and tests (in-process).
import { join } from 'node:path';
import { loadSigner } from '../../auth/keys.ts';
import type { Logger } from '../../lib/log.ts';
import type { KitApp, KitContext, KitServerSpec } from '../_kit/main.ts';
import { createInProcessBotRunner, type BotRunner } from '../bot-runner/runner.ts';
import { createHeadSigner } from './receipts.ts';
import { ChannelService, type BuiltinBot, type ChannelLimits } from './service.ts';
import { createSqliteChannelStore } from './store/sqlite.ts';
import type { ChannelStore } from './store/types.ts';
import { channelUri, createChannelsMcpServer } from './tools.ts';

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
  const store = options.store ?? createSqliteChannelStore({ file: join(ctx.dataDir, 'channels.sqlite') });
  const signer = ctx.keysDir === undefined ? undefined : await loadSigner(ctx.keysDir);
  const service = new ChannelService({
    store,
    runner: options.runner ?? createInProcessBotRunner(),
    ...(signer ? { signHead: createHeadSigner(signer, ctx.issuer) } : {}),
    builtinBot: loadBuiltin,
    ...(options.limits ? { limits: options.limits } : {}),
    logger: ctx.logger,
  });
  const log: Logger = ctx.logger;
  return {
    service,
    factory: (caller) => createChannelsMcpServer(service, caller, log),
    resourceUpdates: (emit) => service.notifier.subscribe((id) => emit(channelUri(id))),
    close: () => store.close(),
  };
}

export const channelsServerSpec: KitServerSpec = {
  name: 'channels',
  create: (ctx) => createChannelsApp(ctx),
};
