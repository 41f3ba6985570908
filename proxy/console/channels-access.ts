// Reading channels for the console, always as an agent through the gateway (as-agent.ts): a member as themself; an
// operator as a member of the channel (an operator can mint any agent's token anyway, so this grants nothing new;
// those reads show in the audit log under that agent). The channels server decides membership; nothing here
// reads its store. The transcript export has the shape `mcpcp verify --save` writes (mcpcp-transcript/1).
import type { Client } from '@modelcontextprotocol/client';
import type { McpcpConfig } from '../../config/schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Gateway, Principal } from '../gateway/index.ts';
import { qualifyName } from '../names.ts';
import { withAgentClient } from './as-agent.ts';

export interface ChannelSummary {
  readonly channel_id: string;
  readonly name: string;
  readonly admin: string;
  readonly state: 'open' | 'closed';
  readonly head_seq: number;
}

export interface ChannelMessageView {
  readonly seq: number;
  readonly ts: number;
  readonly from: { type: string; agent?: string; slot?: string; code_hash?: string };
  readonly kind: string;
  readonly body: unknown;
  readonly reply_to?: number;
  readonly channel_id: string;
  readonly prev_hash: string;
  readonly hash: string;
}

export interface TranscriptView {
  readonly format: 'mcpcp-transcript/1';
  readonly channel_id: string;
  readonly messages: ChannelMessageView[];
  readonly heads: Array<{ seq: number; hash: string; jws: string | null }>;
  readonly sources: Record<string, string>;
}

type Call = (name: string, args: Record<string, unknown>) => Promise<unknown>;

export interface ChannelsAccess {
  readonly available: boolean;
  list(principal: Principal): Promise<ChannelSummary[]>;
  transcript(principal: Principal, channelId: string): Promise<TranscriptView>;
  /** Runs `use` with a caller bound to the principal (one client for a whole live stream). */
  session<T>(principal: Principal, use: (call: Call) => Promise<T>): Promise<T>;
}

export function createChannelsAccess(
  gateway: Pick<Gateway, 'handleMcp'>,
  config: () => McpcpConfig,
  serverId = 'channels',
): ChannelsAccess {
  const prefixed = (tool: string) => {
    const server = config().servers.find((s) => s.id === serverId);
    if (server === undefined) throw new McpcpError('ERR_NOT_FOUND', `no ${serverId} server in this fleet`);
    return qualifyName(server.namespace, tool);
  };
  const callerOf =
    (client: Client): Call =>
    async (tool, args) => {
      const result = await client.callTool({ name: prefixed(tool), arguments: args });
      const text = result.content.find((c) => c.type === 'text');
      const value: unknown =
        result.structuredContent ?? (text && 'text' in text ? (JSON.parse(text.text) as unknown) : undefined);
      if (result.isError === true) {
        const error = (value as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new McpcpError(
          error?.code === 'ERR_NOT_MEMBER' || error?.code === 'ERR_CHANNEL_NOT_FOUND'
            ? 'ERR_NOT_FOUND'
            : 'ERR_FORBIDDEN',
          `${tool}: ${error?.code ?? 'error'} ${error?.message ?? ''}`.trim(),
        );
      }
      return value;
    };
  const session = <T>(principal: Principal, use: (call: Call) => Promise<T>) =>
    withAgentClient(gateway, principal, (client) => use(callerOf(client)));

  return {
    get available() {
      return config().servers.some((s) => s.id === serverId);
    },
    session,
    list: (principal) =>
      session(
        principal,
        async (call) => ((await call('list_channels', {})) as { channels: ChannelSummary[] }).channels,
      ),
    transcript: (principal, channelId) =>
      session(principal, async (call) => {
        const messages: ChannelMessageView[] = [];
        const heads: TranscriptView['heads'] = [];
        let cursor = 0;
        for (;;) {
          const page = (await call('sync_messages', { channel_id: channelId, cursor, limit: 500 })) as {
            messages: ChannelMessageView[];
            cursor: number;
            more: boolean;
            head: { seq: number; hash: string; jws: string | null };
          };
          messages.push(...page.messages);
          cursor = page.cursor;
          if (!page.more) {
            heads.push(page.head);
            break;
          }
        }
        const receipt = (await call('get_receipt', { channel_id: channelId })) as {
          head: { seq: number; hash: string; jws: string | null };
        };
        while (cursor < receipt.head.seq) {
          const rest = (await call('sync_messages', { channel_id: channelId, cursor, limit: 500 })) as {
            messages: ChannelMessageView[];
            cursor: number;
          };
          if (rest.messages.length === 0) break;
          messages.push(...rest.messages);
          cursor = rest.cursor;
        }
        // Nothing newer than the receipt: every message the export holds is covered by a signed head.
        if (messages.length > receipt.head.seq) messages.length = receipt.head.seq;
        heads.push(receipt.head);
        const sources: Record<string, string> = {};
        for (const m of messages) {
          if (m.from.type !== 'system' || m.kind !== 'bot:attach') continue;
          const hash = String((m.body as { code_hash?: unknown }).code_hash);
          if (sources[hash] === undefined)
            sources[hash] = (
              (await call('get_bot_source', { code_hash: hash })) as { source: string }
            ).source;
        }
        return { format: 'mcpcp-transcript/1', channel_id: channelId, messages, heads, sources };
      }),
  };
}
