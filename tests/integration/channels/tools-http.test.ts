// The channels server over Streamable HTTP with real SDK v2 clients (both protocol eras), authenticated by the proxy's
// internal child tokens: tools, errors, resource subscriptions, a full game verified with `mcpcp verify`, a restart
// mid-game, and the server started as a child process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { issueChildToken } from '../../../auth/internal.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { registerVerify } from '../../../launcher/commands/verify.ts';
import type { RunningKitServer } from '../../../servers/_kit/main.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import {
  connectAgent,
  createHarness,
  issuer,
  startChildProcess,
  startInProcess,
  type AgentClient,
  type Harness,
} from './harness.ts';

addCommands(registerVerify);

interface Created {
  channel_id: string;
  invites: Array<{ slot: string; code: string }>;
  channel_invite: string;
}

async function runVerify(args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    const code = await runCli(['verify', ...args]);
    return { code, output: lines.join('\n') };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

describe('channels server over HTTP', () => {
  let h: Harness;
  let server: RunningKitServer;
  const clients: AgentClient[] = [];
  const agent = async (name: string, options: { modern?: boolean } = {}): Promise<AgentClient> => {
    const client = await connectAgent(server.url, h, name, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    h = await createHarness();
    server = await startInProcess(h);
  });
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server?.close();
    await h?.cleanup();
  });

  it('lists the channel tools and refuses requests without a valid child token', async () => {
    const alice = await agent('alice');
    const { tools } = await alice.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'attach_bot',
        'create_channel',
        'get_bot_source',
        'get_receipt',
        'join_channel',
        'list_channels',
        'post_message',
        'sync_messages',
        'update_channel',
        'who',
      ].sort(),
    );
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(none.status).toBe(401);
    const wrongChild = await issueChildToken(h.signer, { issuer, child: 'other', agent: 'alice' });
    const wrong = await fetch(server.url, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${wrongChild}` },
      body: JSON.stringify(init),
    });
    expect(wrong.status).toBe(401);
    // A 2025-era session stays bound to the agent that opened it.
    const aliceToken = await issueChildToken(h.signer, { issuer, child: 'channels', agent: 'alice' });
    const opened = await fetch(server.url, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${aliceToken}` },
      body: JSON.stringify(init),
    });
    const sessionId = opened.headers.get('mcp-session-id');
    expect(sessionId).toBeTruthy();
    await opened.body?.cancel();
    const bobToken = await issueChildToken(h.signer, { issuer, child: 'channels', agent: 'bob' });
    const hijack = await fetch(server.url, {
      method: 'POST',
      headers: {
        ...headers,
        authorization: `Bearer ${bobToken}`,
        'mcp-session-id': sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(hijack.status).toBe(403);
  });

  it('answers plain requests on a live session directly and leaves the rest to the SDK, refusing bad POSTs', async () => {
    const token = await issueChildToken(h.signer, { issuer, child: 'channels', agent: 'carol' });
    const base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
    const opened = await fetch(server.url, {
      method: 'POST',
      headers: base,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    const session = {
      ...base,
      'mcp-session-id': opened.headers.get('mcp-session-id')!,
      'mcp-protocol-version': '2025-11-25',
    };
    await opened.body?.cancel();
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(server.url, { method: 'POST', headers: { ...session, ...headers }, body });
    await (await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))).text();

    const listed = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    expect(listed.status).toBe(200);
    const tools = ((await listed.json()) as { id: number; result: { tools: unknown[] } }).result.tools;
    expect(tools).toHaveLength(10);
    const called = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'c',
        method: 'tools/call',
        params: { name: 'list_channels', arguments: {} },
      }),
    );
    const answer = (await called.json()) as {
      id: string;
      result: { isError?: boolean; structuredContent?: unknown };
    };
    expect(answer.id).toBe('c');
    expect(answer.result.isError).toBeUndefined();
    // Unknown methods and bad params get the SDK's JSON-RPC errors, as on its own path.
    const unknown = (await (
      await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'no/such' }))
    ).json()) as {
      error: { code: number };
    };
    expect(unknown.error.code).toBe(-32601);
    const badParams = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: 'x' }),
    );
    expect(badParams.status).toBe(400);
    // Broken bodies, oversized bodies, a second initialize, a bad version header: refused; the session still serves.
    expect((await post('{not json')).status).toBe(400);
    expect((await post('x'.repeat(5 * 1024 * 1024))).status).toBe(413);
    const again = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    );
    expect(again.status).toBe(400);
    const version = await post(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/list' }), {
      'mcp-protocol-version': '1999-01-01',
    });
    expect(version.status).toBe(400);
    const still = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }));
    expect(((await still.json()) as { id: number; result: unknown }).result).toEqual({});
  });

  it('answers bad input with tool errors carrying stable codes', async () => {
    const alice = await agent('alice');
    const mallory = await agent('mallory');
    const created = await alice.call<Created>('create_channel', { name: 'errors', slots: ['invite:a'] });
    await expect(alice.call('who', { channel_id: 'chn_unknown' })).rejects.toMatchObject({
      code: 'ERR_CHANNEL_NOT_FOUND',
    });
    await expect(mallory.call('who', { channel_id: created.channel_id })).rejects.toMatchObject({
      code: 'ERR_NOT_MEMBER',
    });
    await expect(mallory.call('join_channel', { invite_code: 'inv_forged' })).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    await mallory.call('join_channel', { invite_code: created.invites[0]!.code });
    await expect(alice.call('join_channel', { invite_code: created.invites[0]!.code })).rejects.toMatchObject(
      {
        code: 'ERR_INVITE_INVALID',
      },
    );
    await expect(alice.call('join_channel', { invite_code: created.channel_invite })).rejects.toMatchObject({
      code: 'ERR_CHANNEL_FULL',
    });
    await expect(
      mallory.call('post_message', { channel_id: created.channel_id, body: 'x'.repeat(17_000) }),
    ).rejects.toMatchObject({ code: 'ERR_LIMIT' });
    let deep: unknown = 'x';
    for (let i = 0; i < 3_000; i += 1) deep = [deep];
    const refused = await mallory.raw('post_message', { channel_id: created.channel_id, body: deep });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/ERR_LIMIT.*deeper than 64 levels/);
    const outOfRange = await mallory.raw('sync_messages', {
      channel_id: created.channel_id,
      wait_ms: 60_000,
    });
    expect(outOfRange.isError).toBe(true);
    expect(JSON.stringify(outOfRange.content)).toContain('wait_ms');
  });

  it('keeps order and the chain under concurrent posts from two sessions', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const created = await alice.call<Created>('create_channel', {
      name: 'busy',
      slots: ['invite:a', 'invite:b'],
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? bob : alice).call('post_message', {
          channel_id: created.channel_id,
          body: { i },
          client_msg_id: `m${i}`,
        }),
      ),
    );
    const file = join(h.dir, 'busy.json');
    const token = await issueChildToken(h.signer, { issuer, child: 'channels', agent: 'alice' });
    const result = await runVerify([
      '--url',
      server.url,
      '--namespace',
      '',
      '--token',
      token,
      '--channel',
      created.channel_id,
      '--jwks',
      join(h.keysDir, 'jwks.json'),
      '--save',
      file,
    ]);
    expect(result.code).toBe(0);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { messages: Array<{ kind: string }> };
    expect(saved.messages.filter((m) => m.kind === 'user')).toHaveLength(40);
  });

  it('answers a repeated client_msg_id exactly as the first post, bot replies included', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob', { modern: true });
    const created = await alice.call<Created>('create_channel', {
      name: 'retry',
      slots: ['bot:ref', 'invite:a', 'invite:b'],
      bot_code: counterBot,
      bot_params: { rounds: 2 },
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code });
    const post = (id: string, body: unknown) =>
      alice.call<{ seq: number; duplicate: boolean; replies: Array<{ kind: string }> }>('post_message', {
        channel_id: created.channel_id,
        body,
        client_msg_id: id,
      });
    const first = await post('m1', { move: 1 }); // locks the seeds, the bot answers
    const second = await post('m2', { move: 2 }); // the bot ends the game: reveal, then the next commitment
    expect(first.replies.map((r) => r.kind)).toEqual(['fairness:lock', 'bot']);
    expect(second.replies.map((r) => r.kind)).toEqual([
      'bot',
      'game:over',
      'fairness:reveal',
      'fairness:commit',
    ]);
    // Later writes after each run of replies: none of them may pass for a reply.
    await alice.call('update_channel', { channel_id: created.channel_id, op: 'rename', name: 'retry 2' });
    await bob.call('post_message', { channel_id: created.channel_id, body: { move: 3 } });

    expect(await post('m1', { move: 'ignored' })).toEqual({ ...first, duplicate: true });
    expect(await post('m2', { move: 'ignored' })).toEqual({ ...second, duplicate: true });
    const { messages } = await alice.call<{ messages: unknown[] }>('sync_messages', {
      channel_id: created.channel_id,
      cursor: 0,
    });
    expect(messages.filter((m) => (m as { kind: string }).kind === 'user')).toHaveLength(3);

    // Without a bot there is nothing to reply, the first time or the next.
    const plain = await alice.call<Created>('create_channel', { name: 'plain', slots: ['invite:a'] });
    await alice.call('join_channel', { invite_code: plain.invites[0]!.code });
    const once = await alice.call('post_message', {
      channel_id: plain.channel_id,
      body: 1,
      client_msg_id: 'p',
    });
    await alice.call('update_channel', { channel_id: plain.channel_id, op: 'rename', name: 'plain 2' });
    const again = await alice.call('post_message', {
      channel_id: plain.channel_id,
      body: 1,
      client_msg_id: 'p',
    });
    expect(once).toMatchObject({ duplicate: false, replies: [] });
    expect(again).toEqual({ ...once, duplicate: true });
  });

  it('pushes notifications/resources/updated to subscribers in both protocol eras', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob', { modern: true });
    const created = await alice.call<Created>('create_channel', {
      name: 'push',
      slots: ['invite:a', 'invite:b'],
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code });
    const uri = `channel://${created.channel_id}`;
    const legacyUpdates: string[] = [];
    const modernUpdates: string[] = [];
    alice.client.setNotificationHandler(
      'notifications/resources/updated',
      (n) => void legacyUpdates.push(n.params.uri),
    );
    bob.client.setNotificationHandler(
      'notifications/resources/updated',
      (n) => void modernUpdates.push(n.params.uri),
    );
    await alice.client.subscribeResource({ uri });
    const subscription = await bob.client.listen({ resourceSubscriptions: [uri] });
    const read = await alice.client.readResource({ uri });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({
      view: { channel_id: created.channel_id },
    });
    await bob.call('post_message', { channel_id: created.channel_id, body: 'hello' });
    await vi.waitFor(() => {
      expect(legacyUpdates).toContain(uri);
      expect(modernUpdates).toContain(uri);
    });
    await subscription.close();
  });

  it('lets two agents play a bot game to the end; both verify it and a tampered copy fails', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob', { modern: true });
    const created = await alice.call<Created>('create_channel', {
      name: 'game',
      slots: ['bot:ref', 'invite:a', 'invite:b'],
      bot_code: counterBot,
      bot_params: { rounds: 4 },
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code, seed: 'alice-seed' });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code, seed: 'bob-seed' });
    // Bob long-polls while Alice moves: the poll returns with her move.
    const start = await bob.call<{ cursor: number }>('sync_messages', { channel_id: created.channel_id });
    const waiting = bob.call<{ messages: Array<{ kind: string; body: unknown }> }>('sync_messages', {
      channel_id: created.channel_id,
      cursor: start.cursor,
      wait_ms: 20_000,
    });
    await new Promise((r) => setTimeout(r, 100));
    await alice.call('post_message', { channel_id: created.channel_id, body: { move: 0 } });
    expect((await waiting).messages[0]).toMatchObject({ kind: 'user', body: { move: 0 } });
    for (let i = 1; i < 4; i += 1)
      await (i % 2 ? bob : alice).call('post_message', { channel_id: created.channel_id, body: { move: i } });
    const receipt = await bob.call<{ head: { seq: number; jws: string } }>('get_receipt', {
      channel_id: created.channel_id,
    });
    expect(receipt.head.jws.split('.')).toHaveLength(3);
    const view = await alice.call<{ bot: { code_hash: string } }>('who', { channel_id: created.channel_id });
    const source = await bob.call<{ source: string }>('get_bot_source', { code_hash: view.bot.code_hash });
    expect(source.source).toBe(counterBot);

    const jwks = join(h.keysDir, 'jwks.json');
    for (const name of ['alice', 'bob']) {
      const token = await issueChildToken(h.signer, { issuer, child: 'channels', agent: name });
      const file = join(h.dir, `game-${name}.json`);
      const result = await runVerify([
        '--url',
        server.url,
        '--namespace',
        '',
        '--token',
        token,
        '--channel',
        created.channel_id,
        '--jwks',
        jwks,
        '--save',
        file,
      ]);
      expect(result.output).toMatch(/^OK/);
      expect(result.code).toBe(0);
    }
    const copy = JSON.parse(await readFile(join(h.dir, 'game-bob.json'), 'utf8')) as {
      messages: Array<{ from: { type: string }; body: unknown; seq: number }>;
    };
    const botMessage = copy.messages.filter((m) => m.from.type === 'bot')[2]!;
    botMessage.body = { forged: true };
    const tampered = join(h.dir, 'game-tampered.json');
    await writeFile(tampered, JSON.stringify(copy));
    const failed = await runVerify(['--file', tampered, '--jwks', jwks, '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.output)).toMatchObject({ ok: false, first_bad: { seq: botMessage.seq } });
  });

  it('continues a game after the server restarts mid-game', async () => {
    let alice = await agent('alice');
    let bob = await agent('bob');
    const created = await alice.call<Created>('create_channel', {
      name: 'restart',
      slots: ['bot:ref', 'invite:a', 'invite:b'],
      bot_code: counterBot,
      bot_params: { rounds: 4 },
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code });
    await alice.call('post_message', { channel_id: created.channel_id, body: { move: 0 } });
    await bob.call('post_message', { channel_id: created.channel_id, body: { move: 1 } });
    const before = await bob.call<{ cursor: number }>('sync_messages', { channel_id: created.channel_id });

    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await server.close();
    server = await startInProcess(h);
    alice = await agent('alice');
    bob = await agent('bob');

    // Bob's cursor survived: nothing new yet.
    const resumed = await bob.call<{ messages: unknown[]; cursor: number }>('sync_messages', {
      channel_id: created.channel_id,
    });
    expect(resumed.messages).toEqual([]);
    expect(resumed.cursor).toBe(before.cursor);
    const third = await alice.call<{ replies: Array<{ body: { n: number } }> }>('post_message', {
      channel_id: created.channel_id,
      body: { move: 2 },
    });
    expect(third.replies[0]!.body.n).toBe(3); // bot state continued from before the restart
    const last = await bob.call<{ replies: Array<{ kind: string }> }>('post_message', {
      channel_id: created.channel_id,
      body: { move: 3 },
    });
    expect(last.replies.map((r) => r.kind)).toEqual([
      'bot',
      'game:over',
      'fairness:reveal',
      'fairness:commit',
    ]);
    const token = await issueChildToken(h.signer, { issuer, child: 'channels', agent: 'bob' });
    const result = await runVerify([
      '--url',
      server.url,
      '--namespace',
      '',
      '--token',
      token,
      '--channel',
      created.channel_id,
      '--jwks',
      join(h.keysDir, 'jwks.json'),
    ]);
    expect(result.code).toBe(0);
  });
});

describe('channels server as a child process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('prints one listening line, serves tools with child-token identity and keeps data across restarts', async () => {
    let child = await startChildProcess(h);
    try {
      expect(child.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const alice = await connectAgent(child.url, h, 'alice');
      const created = await alice.call<Created>('create_channel', { name: 'proc', slots: ['invite:a'] });
      await alice.call('join_channel', { invite_code: created.invites[0]!.code });
      await alice.call('post_message', { channel_id: created.channel_id, body: 'persisted' });
      await alice.close();
      await child.stop();
      child = await startChildProcess(h);
      const again = await connectAgent(child.url, h, 'alice');
      const list = await again.call<{ channels: Array<{ channel_id: string; head_seq: number }> }>(
        'list_channels',
      );
      expect(list.channels).toEqual([
        expect.objectContaining({ channel_id: created.channel_id, head_seq: 3 }),
      ]);
      await again.close();
    } finally {
      await child.stop();
    }
  });

  it('serves stdio with the configured local identity (--stdio --agent)', async () => {
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          'servers/channels/main.ts',
          '--stdio',
          '--agent',
          'desktop-user',
          '--data-dir',
          join(h.dir, 'stdio-data'),
        ],
        env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'warn' },
        stderr: 'ignore',
      }),
    );
    try {
      const created = await client.callTool({
        name: 'create_channel',
        arguments: { name: 'local', slots: ['invite:me'] },
      });
      const view = (created.structuredContent as { view: { admin: string } }).view;
      expect(view.admin).toBe('desktop-user');
    } finally {
      await client.close();
    }
  });
});
