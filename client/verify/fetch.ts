// Fetches a live channel's transcript through MCP (normally through the proxy, with the agent's own token):
// every message from seq 1 up to the signed receipt head, the heads, and the source of every announced bot. Returns a
// TranscriptExport that verify.ts checks and `mcpcp verify --save` writes to a file.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONWebKeySet } from 'jose';
import { McpcpError } from '../../lib/errors.ts';
import type { ChannelMessage } from '../../servers/channels/transcript.ts';
import { transcriptFormat, type TranscriptExport } from './verify.ts';

export interface FetchTranscriptOptions {
  url: string;
  token?: string;
  channel: string;
  /** Tool name prefix: the proxy's namespace plus '_' (default 'channels_'); '' for a channels server used directly. */
  toolPrefix?: string;
}

type ToolCaller = (name: string, args: Record<string, unknown>) => Promise<unknown>;

export function toolCallerFor(client: Client, prefix: string): ToolCaller {
  return async (name, args) => {
    const result = await client.callTool({ name: `${prefix}${name}`, arguments: args });
    const text = result.content.find((c) => c.type === 'text');
    const value: unknown =
      result.structuredContent ?? (text && 'text' in text ? JSON.parse(text.text) : undefined);
    if (result.isError === true) {
      const error = (value as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new McpcpError(
        'ERR_VERIFY_FAILED',
        `${name} failed: ${error?.code ?? 'error'} ${error?.message ?? ''}`.trim(),
      );
    }
    return value;
  };
}

/** Reads the whole transcript with an existing tool caller. */
export async function collectTranscript(call: ToolCaller, channel: string): Promise<TranscriptExport> {
  const messages: ChannelMessage[] = [];
  const heads: TranscriptExport['heads'] = [];
  let cursor = 0;
  for (;;) {
    const page = (await call('sync_messages', { channel_id: channel, cursor, limit: 500 })) as {
      messages: ChannelMessage[];
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
  const receipt = (await call('get_receipt', { channel_id: channel })) as {
    head: { seq: number; hash: string; jws: string | null };
  };
  while (cursor < receipt.head.seq) {
    // Messages arrived meanwhile: read up to the receipt's head, so it covers the last message we hold.
    const rest = (await call('sync_messages', { channel_id: channel, cursor, limit: 500 })) as {
      messages: ChannelMessage[];
      cursor: number;
    };
    if (rest.messages.length === 0) break;
    messages.push(...rest.messages);
    cursor = rest.cursor;
  }
  // Anything newer than the receipt is left to the next export (no signed head covers it yet).
  if (messages.length > receipt.head.seq) messages.length = receipt.head.seq;
  heads.push(receipt.head);
  const sources: Record<string, string> = {};
  for (const message of messages) {
    if (message.from.type !== 'system' || message.kind !== 'bot:attach') continue;
    const hash = String((message.body as { code_hash?: unknown }).code_hash);
    if (sources[hash] !== undefined) continue;
    const source = (await call('get_bot_source', { code_hash: hash })) as { source: string };
    sources[hash] = source.source;
  }
  return { format: transcriptFormat, channel_id: channel, messages, heads, sources };
}

export async function fetchTranscript(options: FetchTranscriptOptions): Promise<TranscriptExport> {
  const client = new Client({ name: 'mcpcp-verify', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(options.url), {
    ...(options.token ? { requestInit: { headers: { Authorization: `Bearer ${options.token}` } } } : {}),
  });
  try {
    await client.connect(transport);
  } catch (cause) {
    throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', `cannot connect to ${options.url}`, { cause });
  }
  try {
    return await collectTranscript(toolCallerFor(client, options.toolPrefix ?? 'channels_'), options.channel);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Loads a JWKS from a file path or an http(s) URL. */
export async function loadJwksFrom(location: string): Promise<JSONWebKeySet> {
  let text: string;
  if (/^https?:\/\//.test(location)) {
    const response = await fetch(location, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new McpcpError('ERR_JWKS_FETCH', `GET ${location}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(location, 'utf8');
  }
  let value: JSONWebKeySet;
  try {
    value = JSON.parse(text) as JSONWebKeySet;
  } catch (cause) {
    throw new McpcpError('ERR_JWKS_FETCH', `${location} is not JSON`, { cause });
  }
  if (!Array.isArray(value?.keys)) throw new McpcpError('ERR_JWKS_FETCH', `${location} is not a JWKS`);
  return value;
}
