// The channels MCP surface for one caller: tools (zod input schemas), the channel://<id> resources and 2025-era
// resources/subscribe, and who may hear about a channel's changes (the same reader check resources/read makes, for
// both eras). A thin adapter over ChannelService; failures become tool results with isError and a stable error code,
// never protocol errors.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { toolRun } from '../_kit/tool-result.ts';
import type { Caller, ChannelService } from './service.ts';

export const channelsServerInfo = { name: 'mcpcp-channels', version: '0.1.0' } as const;

const channelId = z.string().min(1).max(64).describe('Channel id (chn_…)');
const botFields = {
  bot_code: z
    .string()
    .min(1)
    .optional()
    .describe('Inline JavaScript bot source (a class with onInit/onJoin/onMessage)'),
  bot_preset: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Builtin bot name: GuessBot, BlackjackBot or TicTacToeBot'),
  bot_params: z.unknown().optional().describe('Parameters passed to the bot constructor'),
};
const jsonBody = z
  .union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(z.unknown()),
    z.record(z.string(), z.unknown()),
  ])
  .describe('Message body: text or any JSON value');

export function channelUri(id: string): string {
  return `channel://${id}`;
}

/** Reads a channel's view as caller: the reader check behind resources/read, subscribe and every update pushed. */
async function readChannelUri(service: ChannelService, caller: Caller, uri: string): Promise<unknown> {
  const match = /^channel:\/\/(.+)$/.exec(uri);
  if (match === null) throw new McpcpError('ERR_NOT_FOUND', 'not a channel URI');
  return service.who(caller, match[1]!);
}

/**
 * Whether caller may hear that uri changed, in either era: exactly when it may read it now (a kicked agent stops
 * hearing at once). Unknown and not-a-member are both a plain no.
 */
export async function mayHearChannel(service: ChannelService, caller: Caller, uri: string): Promise<boolean> {
  try {
    await readChannelUri(service, caller, uri);
    return true;
  } catch (error) {
    if (
      isMcpcpError(error) &&
      ['ERR_NOT_FOUND', 'ERR_CHANNEL_NOT_FOUND', 'ERR_NOT_MEMBER'].includes(error.code)
    )
      return false;
    throw error;
  }
}

function buildSchemas(limits: ChannelService['limits']) {
  return {
    create_channel: z.object({
      name: z.string().min(1).max(100),
      slots: z.array(z.string().min(1).max(64)).min(1).max(limits.maxSlots),
      ...botFields,
    }),
    join_channel: z.object({
      invite_code: z.string().min(1).max(200),
      seed: z.string().min(1).max(256).optional(),
    }),
    post_message: z.object({
      channel_id: channelId,
      body: jsonBody,
      kind: z.string().min(1).max(64).optional().describe('Message kind, default "user"'),
      client_msg_id: z.string().min(1).max(128).optional(),
    }),
    sync_messages: z.object({
      channel_id: channelId,
      cursor: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).max(500).optional(),
      wait_ms: z.number().int().min(0).max(limits.maxWaitMs).optional(),
    }),
    who: z.object({ channel_id: channelId }),
    list_channels: z.object({}),
    update_channel: z.object({
      channel_id: channelId,
      op: z.enum([
        'rename',
        'kick',
        'close',
        'rotate_invites',
        'transfer_admin',
        'remove_bot',
        'replace_bot',
      ]),
      name: z.string().min(1).max(100).optional(),
      slot: z.string().min(1).max(16).optional(),
      agent: z.string().min(1).max(128).optional(),
      ...botFields,
    }),
    attach_bot: z.object({
      channel_id: channelId,
      ...botFields,
      params: z.unknown().optional().describe('Alias of bot_params'),
    }),
    get_bot_source: z.object({
      code_hash: z.string().regex(/^[0-9a-f]{64}$/, 'code_hash is 64 lowercase hex characters'),
    }),
    get_receipt: z.object({ channel_id: channelId }),
  };
}

// Built once per service: a fresh McpServer is made per request (2026 era) or session, its schemas need not be.
const schemaCache = new WeakMap<ChannelService, ReturnType<typeof buildSchemas>>();

function schemasFor(service: ChannelService): ReturnType<typeof buildSchemas> {
  let schemas = schemaCache.get(service);
  if (schemas === undefined) {
    schemas = buildSchemas(service.limits);
    schemaCache.set(service, schemas);
  }
  return schemas;
}

export function createChannelsMcpServer(service: ChannelService, caller: Caller, log: Logger): McpServer {
  const schemas = schemasFor(service);
  const server = new McpServer(channelsServerInfo, {
    capabilities: { tools: {}, resources: { subscribe: true } },
    instructions:
      'Channels where agents meet, refereed by a bot whose exact code everyone can read. Create a channel, share invite codes, ' +
      'post messages and long-poll sync_messages. Every message is hash-chained; get_receipt returns the signed head.',
  });

  server.registerTool(
    'create_channel',
    {
      description:
        'Create a channel. slots like ["bot:referee","invite:alice","invite:bob"]; returns one invite code per invite slot ' +
        '(plus channel_invite, which fills any free slot). Optionally attach a bot (bot_code or bot_preset).',
      inputSchema: schemas.create_channel,
    },
    (args) => toolRun(log, () => service.createChannel(caller, args)),
  );

  server.registerTool(
    'join_channel',
    {
      description:
        'Join with an invite code (inv_…) or take your slot back with a rejoin token (rej_…, one-time; a new one is returned). ' +
        'seed: optional randomness you contribute to the channel fairness protocol.',
      inputSchema: schemas.join_channel,
    },
    (args) => toolRun(log, () => service.joinChannel(caller, args)),
  );

  server.registerTool(
    'post_message',
    {
      description:
        'Post a message. Idempotent on client_msg_id: a retry appends nothing and returns the first result (same seq, ' +
        'hash and bot replies) with duplicate: true.',
      inputSchema: schemas.post_message,
    },
    (args) => toolRun(log, () => service.postMessage(caller, args)),
  );

  server.registerTool(
    'sync_messages',
    {
      description:
        'Messages after cursor (default: where you last read). wait_ms (0..25000) long-polls: returns as soon as something ' +
        'new arrives. Returns the head signed by the server (a receipt).',
      inputSchema: schemas.sync_messages,
    },
    (args, ctx) => toolRun(log, () => service.syncMessages(caller, args, ctx.mcpReq.signal)),
  );

  server.registerTool(
    'who',
    {
      description:
        'Channel view: slots, members, admin, open/closed, the bot (code hash, manifest, limits, fairness commitment).',
      inputSchema: schemas.who,
    },
    (args) => toolRun(log, () => service.who(caller, args.channel_id)),
  );

  server.registerTool(
    'list_channels',
    { description: 'Channels you administer or hold a slot in.', inputSchema: schemas.list_channels },
    () => toolRun(log, async () => ({ channels: await service.listChannels(caller) })),
  );

  server.registerTool(
    'update_channel',
    {
      description:
        'Admin operations, each recorded in the transcript: rename (name), kick (slot or agent), close, rotate_invites, ' +
        'transfer_admin (agent), remove_bot, replace_bot (bot_code or bot_preset, bot_params).',
      inputSchema: schemas.update_channel,
    },
    (args) => toolRun(log, () => service.updateChannel(caller, args)),
  );

  server.registerTool(
    'attach_bot',
    {
      description:
        'Admin: attach a bot; posts bot:attach with the SHA-256 of its exact source and the fairness commitment.',
      inputSchema: schemas.attach_bot,
    },
    (args) =>
      toolRun(log, () =>
        service.attachBot(caller, {
          channel_id: args.channel_id,
          bot_code: args.bot_code,
          bot_preset: args.bot_preset,
          bot_params: args.bot_params ?? args.params,
        }),
      ),
  );

  server.registerTool(
    'get_bot_source',
    {
      description: 'The exact source of an announced bot, by its SHA-256 code hash.',
      inputSchema: schemas.get_bot_source,
    },
    (args) => toolRun(log, () => service.getBotSource(args.code_hash)),
  );

  server.registerTool(
    'get_receipt',
    {
      description:
        'The current head (seq, hash) signed by the server as a JWS: proof of the transcript you hold.',
      inputSchema: schemas.get_receipt,
    },
    (args) => toolRun(log, () => service.getReceipt(caller, args.channel_id)),
  );

  registerChannelResources(server, service, caller);
  return server;
}

function registerChannelResources(server: McpServer, service: ChannelService, caller: Caller): void {
  server.registerResource(
    'channel',
    new ResourceTemplate('channel://{id}', {
      list: async () => ({
        resources: ((await service.listChannels(caller)) as Array<{ channel_id: string; name: string }>).map(
          (c) => ({
            uri: channelUri(c.channel_id),
            name: c.name,
            mimeType: 'application/json',
          }),
        ),
      }),
    }),
    {
      description: 'A channel: its view and latest 50 messages. Subscribe to hear about every new message.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const id = String(variables.id);
      const view = await readChannelUri(service, caller, channelUri(id));
      const head = await service.store.head(id);
      const messages = await service.store.readMessages(id, Math.max(0, head.seq - 50), 50);
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ view, messages }) }],
      };
    },
  );

  // 2025-era subscriptions: this instance serves one session; forward appends for the URIs it subscribed to, while
  // the caller may still read them. Subscribed lazily, so per-request (2026-era) instances never register a listener.
  const subscribed = new Set<string>();
  let stop: (() => void) | undefined;
  const tell = (uri: string): void =>
    void mayHearChannel(service, caller, uri)
      .then((allowed) =>
        allowed && server.isConnected() ? server.server.sendResourceUpdated({ uri }) : undefined,
      )
      .catch(() => undefined);
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    await readChannelUri(service, caller, request.params.uri); // refused exactly as resources/read would be
    subscribed.add(request.params.uri);
    stop ??= service.notifier.subscribe(
      (id) => {
        const uri = channelUri(id);
        if (subscribed.has(uri)) tell(uri);
      },
      // Appends may have been missed (the store's feed reconnected): every subscribed channel may have moved.
      () => [...subscribed].forEach(tell),
    );
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    stop?.();
    previous?.();
  };
}
