// Helpers for channels tests that go through the real proxy: agents holding their own agent tokens (RS256 JWTs the
// proxy verifies; the proxy, not the test, mints the internal child token), `mcpcp verify` run in-process with its
// JSON report captured, and tampered copies of a saved export. It must not start servers; the tests do.
import { readFile, writeFile } from 'node:fs/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { vi } from 'vitest';
import { loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import type { TranscriptExport, VerifyReport } from '../../../client/verify/verify.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { registerVerify } from '../../../launcher/commands/verify.ts';
import type { ChannelMessage } from '../../../servers/channels/transcript.ts';
import { reseal } from '../../helpers/reseal.ts';

addCommands(registerVerify);

/** The start of a proxy config whose one server is the first-party channels server at `url`; more lines follow. */
export function channelsProxyConfig(issuer: string, url: string, protocol: 'auto' | '2025-11-25'): string {
  return `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:
  - id: channels
    transport: http
    url: ${url}
    firstParty: true
    protocol: ${protocol}`;
}

export interface ProxyAgent {
  agent: string;
  token: string;
  /** Calls `channels_<name>` through the proxy; throws `ERR_…: message` on an isError result. */
  call<T>(name: string, args: Record<string, unknown>): Promise<T>;
  /** The tool names the proxy lists to this agent now (no client-side cache). */
  tools(): Promise<string[]>;
  close(): Promise<void>;
}

/** The agent's own token for this proxy: signed with the fleet key, aud = the proxy's resource. */
export async function issueOwnToken(
  keysDir: string,
  urls: { issuer: string; resource: string },
  agent: string,
): Promise<string> {
  return issueAgentToken(await loadSigner(keysDir), {
    issuer: urls.issuer,
    audience: urls.resource,
    agent,
    ttlSeconds: 900,
  });
}

export async function connectThroughProxy(mcpUrl: string, agent: string, token: string): Promise<ProxyAgent> {
  const client = new Client({ name: agent, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return {
    agent,
    token,
    async call<T>(name: string, args: Record<string, unknown>): Promise<T> {
      const result = await client.callTool({ name: `channels_${name}`, arguments: args });
      if (result.isError === true) {
        const error = (
          result.structuredContent as { error?: { code?: string; message?: string } } | undefined
        )?.error;
        throw new Error(`${error?.code ?? 'ERR_TOOL'}: ${error?.message ?? JSON.stringify(result.content)}`);
      }
      return result.structuredContent as T;
    },
    tools: async () => (await client.listTools(undefined, { cacheMode: 'bypass' })).tools.map((t) => t.name),
    close: () => client.close(),
  };
}

/** Runs `mcpcp verify … --json` in-process and returns its exit code and parsed report. */
export async function runVerify(args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    const code = await runCli(['verify', ...args, '--json']);
    return { code, report: JSON.parse(lines.join('\n')) as VerifyReport };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

/** `mcpcp verify --url PROXY/mcp --token AGENT_JWT --channel ID --save FILE` as that agent would run it. */
export function verifyThroughProxy(
  mcpUrl: string,
  agent: ProxyAgent,
  channelId: string,
  save: string,
): Promise<{ code: number; report: VerifyReport }> {
  return runVerify(['--url', mcpUrl, '--token', agent.token, '--channel', channelId, '--save', save]);
}

export async function readExport(file: string): Promise<TranscriptExport> {
  return JSON.parse(await readFile(file, 'utf8')) as TranscriptExport;
}

/**
 * Writes a copy of `saved` where message `seq` has its body changed by `edit`. With `rechain`, every hash from there
 * on is recomputed, as a forger who knows the hash rule would: the chain then holds and other checks must catch it.
 */
export async function writeTampered(
  saved: string,
  out: string,
  seq: number,
  edit: (body: unknown) => unknown,
  options: { rechain?: boolean } = {},
): Promise<void> {
  const copy = await readExport(saved);
  const index = copy.messages.findIndex((m) => m.seq === seq);
  if (index < 0) throw new Error(`no message ${seq} in ${saved}`);
  const target = copy.messages[index]!;
  copy.messages[index] = { ...target, body: edit(structuredClone(target.body)) };
  // messages hold seq 1… in order (an export's messages array), so the index is seq - 1.
  if (options.rechain === true) copy.messages = reseal(copy.messages, index + 1);
  await writeFile(out, JSON.stringify(copy));
}

/** Checks that seqs run 1..n without gaps and every message links to the one before (the shape, not the hashes). */
export function chainShape(messages: readonly ChannelMessage[]): { contiguous: boolean; linked: boolean } {
  return {
    contiguous: messages.every((m, i) => m.seq === i + 1),
    linked: messages.every((m, i) => i === 0 || m.prev_hash === messages[i - 1]!.hash),
  };
}
