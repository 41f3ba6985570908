// The channel service: the one object the MCP tools (tools.ts), tests and benchmarks talk to. A facade: the rules
// live by concept in membership.ts (create, join, rejoin), messages.ts (post, sync, views), admin.ts (update_channel,
// attach_bot) and bots.ts (hooks, fairness); what they share (the per-channel write queue, membership checks, signed
// heads) is core.ts. Transport-agnostic; must not hold rules of its own.
import { McpcpError } from '../../lib/errors.ts';
import { attachBot, updateChannel } from './admin.ts';
import type { BotSpec, BuiltinBot } from './bots.ts';
import { ChannelCore, type Caller, type ChannelCoreOptions, type SignedHead } from './core.ts';
import { createChannel, joinChannel } from './membership.ts';
import { channelView, listChannels, postMessage, syncMessages } from './messages.ts';
import type { ChannelNotifier } from './notifier.ts';
import { defaultChannelLimits, type ChannelLimits } from './rules.ts';
import type { ChannelStore } from './store/types.ts';

export type { BotSpec, BuiltinBot, Caller, ChannelLimits, SignedHead };
export { defaultChannelLimits };
export type ChannelServiceOptions = ChannelCoreOptions;

type Rest<F> = F extends (core: ChannelCore, ...rest: infer R) => infer T ? (...rest: R) => T : never;

export class ChannelService {
  readonly #core: ChannelCore;

  constructor(options: ChannelServiceOptions) {
    this.#core = new ChannelCore(options);
  }

  get store(): ChannelStore {
    return this.#core.store;
  }

  get notifier(): ChannelNotifier {
    return this.#core.notifier;
  }

  get limits(): ChannelLimits {
    return this.#core.limits;
  }

  get runnerVersion(): string {
    return this.#core.bots.runnerVersion;
  }

  createChannel: Rest<typeof createChannel> = (...args) => createChannel(this.#core, ...args);
  joinChannel: Rest<typeof joinChannel> = (...args) => joinChannel(this.#core, ...args);
  postMessage: Rest<typeof postMessage> = (...args) => postMessage(this.#core, ...args);
  syncMessages: Rest<typeof syncMessages> = (...args) => syncMessages(this.#core, ...args);
  who: Rest<typeof channelView> = (...args) => channelView(this.#core, ...args);
  listChannels: Rest<typeof listChannels> = (...args) => listChannels(this.#core, ...args);
  updateChannel: Rest<typeof updateChannel> = (...args) => updateChannel(this.#core, ...args);
  attachBot: Rest<typeof attachBot> = (...args) => attachBot(this.#core, ...args);

  signedHead(channelId: string): Promise<SignedHead> {
    return this.#core.signedHead(channelId);
  }

  async getReceipt(caller: Caller, channelId: string): Promise<{ channel_id: string; head: SignedHead }> {
    await this.#core.readable(caller, channelId);
    return { channel_id: channelId, head: await this.#core.signedHead(channelId) };
  }

  async getBotSource(codeHash: string): Promise<{ code_hash: string; source: string }> {
    const source = await this.#core.store.getBotSource(codeHash);
    if (source === undefined)
      throw new McpcpError('ERR_BOT_NOT_FOUND', `no bot source with hash ${codeHash}`);
    return { code_hash: codeHash, source };
  }
}
