// Streamable HTTP children: a first-party child gets one connection per agent carrying an internal
// JWT for that agent (aud = the child), and a child that restarts behind the same URL (so it forgot
// every session) is reconnected invisibly; a child that goes away leaves the lists and comes back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueChildToken } from '../../../auth/internal.ts';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { startEverythingFixture, type RunningFixture } from '../../helpers/everything-fixture.ts';
import {
  modernEnvelope,
  postAs,
  startHarness,
  startHttpChild,
  textOf,
  waitFor,
  type Harness,
  type RunningChild,
} from './harness.ts';

let workDir: string;
let first: RunningChild;
let third: RunningChild;
let modern: RunningFixture;
let stateless: RunningChild;
let h: Harness;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-http-upstream-'));
  await generateKeyPair(workDir);
  const signer = await loadSigner(workDir);
  first = await startHttpChild('fp');
  third = await startHttpChild('tp');
  modern = await startEverythingFixture();
  stateless = await startHttpChild('mod', 0, ['--modern']);
  h = await startHarness(
    `
servers:
  - id: fp
    transport: http
    url: ${first.url}
    firstParty: true
    restart: { backoffMs: 100, maxBackoffMs: 300 }
  - id: tp
    transport: http
    url: ${third.url}
    restart: { backoffMs: 100, maxBackoffMs: 300 }
  - id: modern
    transport: http
    url: ${modern.url}
  - id: mod
    transport: http
    url: ${stateless.url}
    firstParty: true
policy:
  rules:
    - id: all
      subjects: ['*']
      servers: ['*']
      allow: ['*', 'test://**']
    - id: hide-regional
      subjects: [limited]
      servers: [mod]
      deny: [mod_regional]
`,
    {
      healthIntervalMs: 200,
      childTokens: {
        issue: (child, agent) => issueChildToken(signer, { issuer: 'http://proxy.test', child, agent }),
      },
    },
  );
});

afterAll(async () => {
  await h?.close();
  await first?.stop();
  await third?.stop();
  await modern?.stop();
  await stateless?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('http upstreams', () => {
  it('sends a first-party child an internal token for the calling agent, never for another', async () => {
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    const a = JSON.parse(textOf(await alice.callTool({ name: 'fp_whoami', arguments: {} }))) as Record<
      string,
      string
    >;
    const b = JSON.parse(textOf(await bob.callTool({ name: 'fp_whoami', arguments: {} }))) as Record<
      string,
      string
    >;
    expect(a).toEqual({ sub: 'alice', aud: 'fp' });
    expect(b).toEqual({ sub: 'bob', aud: 'fp' });
  });

  it('sends no token to a third-party http child', async () => {
    const alice = await h.connect('alice');
    expect(JSON.parse(textOf(await alice.callTool({ name: 'tp_whoami', arguments: {} })))).toEqual({});
  });

  it('keeps a 2026-era child ready across health checks and relays its calls', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(h.gateway.upstreamStates().find((s) => s.id === 'modern')?.state).toBe('ready');
    const alice = await h.connect('alice', { era: 'modern' });
    const result = await alice.callTool({ name: 'modern_test_simple_text', arguments: {} });
    expect(textOf(result)).toContain('simple text');
  });

  it('talks 2026-07-28 to a child that speaks it: internal token per request, list changes via listen', async () => {
    const alice = await h.connect('alice');
    expect(JSON.parse(textOf(await alice.callTool({ name: 'mod_whoami', arguments: {} })))).toEqual({
      sub: 'alice',
      aud: 'mod',
    });
    let changes = 0;
    alice.setNotificationHandler('notifications/tools/list_changed', () => void (changes += 1));
    expect(textOf(await alice.callTool({ name: 'mod_toggle', arguments: {} }))).toBe('added');
    await waitFor(async () => (await alice.listTools()).tools.some((t) => t.name === 'mod_extra'));
    expect(changes).toBeGreaterThanOrEqual(1);
    expect(textOf(await alice.callTool({ name: 'mod_toggle', arguments: {} }))).toBe('removed');
    await waitFor(async () => !(await alice.listTools()).tools.some((t) => t.name === 'mod_extra'));
  });

  it("answers with the proxy's own serverInfo stamp, never the 2026-era child's", async () => {
    for (const era of ['legacy', 'modern'] as const) {
      const alice = await h.connect('alice', { era });
      const result = await alice.callTool({ name: 'mod_whoami', arguments: {} });
      const stamp = (result._meta as Record<string, { name?: string }> | undefined)?.[
        'io.modelcontextprotocol/serverInfo'
      ];
      expect(stamp?.name).toBe(era === 'modern' ? 'mcpcp' : undefined);
    }
  });

  it("keeps a 2026-era child's cache hint private: what the proxy answers is decided per agent", async () => {
    const alice = await h.connect('alice', { era: 'modern' });
    const read = (await alice.readResource({ uri: 'test://shared' })) as {
      cacheScope?: string;
      ttlMs?: number;
      contents: Array<{ text?: string }>;
    };
    expect(read.contents[0]?.text).toBe('the same for everyone');
    expect(read.cacheScope).toBe('private');
    expect(read.ttlMs).toBe(60_000);
  });

  it("tells a 2026-era child the calling agent's own capabilities, and passes its trace context on", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    for (const era of ['legacy', 'modern'] as const) {
      for (const capabilities of [{ sampling: {} }, { elicitation: { form: {} }, roots: {} }, {}]) {
        const agent = await h.connect('alice', { era, client: { capabilities } });
        const seen = JSON.parse(
          textOf(await agent.callTool({ name: 'mod_meta', arguments: {}, _meta: { traceparent } })),
        ) as { meta: Record<string, unknown>; envelope: Record<string, unknown> };
        expect(seen.envelope['io.modelcontextprotocol/clientCapabilities']).toEqual(capabilities);
        expect(seen.envelope['io.modelcontextprotocol/clientInfo']).toMatchObject({ name: 'mcpcp-proxy' });
        expect(seen.meta.traceparent).toBe(traceparent);
      }
    }
  });

  it('mirrors x-mcp-header arguments into Mcp-Param headers for a 2026-era child, from either era', async () => {
    const listed = (await (await h.connect('alice')).listTools()).tools.find(
      (t) => t.name === 'mod_regional',
    );
    expect(listed?.inputSchema.properties?.region).toMatchObject({ 'x-mcp-header': 'Region' });
    for (const era of ['legacy', 'modern'] as const) {
      const alice = await h.connect('alice', { era });
      const result = await alice.callTool({ name: 'mod_regional', arguments: { region: 'eu-west' } });
      expect(result.isError ?? false).toBe(false);
      expect(textOf(result)).toBe('region eu-west');
      // A value that is not a plain token travels Base64-encoded and still decodes to the body's value.
      const spaced = await alice.callTool({ name: 'mod_regional', arguments: { region: ' nörd ' } });
      expect(textOf(spaced)).toBe('region  nörd ');
    }
  });

  it('checks the Mcp-Param headers a 2026-era client mirrors, as the child itself would', async () => {
    const call = (agent: string, region: string, header?: string) =>
      postAs(
        h,
        agent,
        {
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'mod_regional',
          ...(header === undefined ? {} : { 'mcp-param-region': header }),
        },
        {
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'mod_regional', arguments: { region }, _meta: modernEnvelope },
        },
      );
    const agreeing = await call('raw', 'eu-west', 'eu-west');
    expect(agreeing.status).toBe(200);
    expect(JSON.stringify(await agreeing.json())).toContain('region eu-west');
    for (const header of [undefined, 'us-east', '=?base64?%%%?=']) {
      const refused = await call('raw', 'eu-west', header);
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { id: unknown; error: { code: number; message: string } };
      expect(body.id).toBe(7);
      expect(body.error.code).toBe(-32020);
      expect(body.error.message).toContain('Mcp-Param-Region');
    }
    // A tool the agent cannot see says nothing about its headers: it is unknown, as any hidden name is.
    const hidden = JSON.stringify(await (await call('limited', 'eu-west')).json());
    expect(hidden).toMatch(/not found|unknown/i);
    expect(hidden).not.toContain('-32020');
  });

  it('reconnects invisibly when the child forgets its sessions (404), as after a restart', async () => {
    const alice = await h.connect('alice');
    expect(textOf(await alice.callTool({ name: 'fp_echo', arguments: { message: 'one' } }))).toBe('fp: one');
    expect(textOf(await alice.callTool({ name: 'fp_forget', arguments: {} }))).toBe('forgotten');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The proxy's sessions are gone on the child; the agent sees nothing of it.
    expect(textOf(await alice.callTool({ name: 'fp_echo', arguments: { message: 'two' } }))).toBe('fp: two');
    expect(textOf(await alice.callTool({ name: 'tp_forget', arguments: {} }))).toBe('forgotten');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(textOf(await alice.callTool({ name: 'tp_echo', arguments: { message: 'three' } }))).toBe(
      'tp: three',
    );
    expect(h.gateway.upstreamStates().map((s) => s.state)).toEqual(['ready', 'ready', 'ready', 'ready']);
  });

  it('drops a vanished child from the lists and brings it back', async () => {
    const alice = await h.connect('alice');
    let changes = 0;
    alice.setNotificationHandler('notifications/tools/list_changed', () => void (changes += 1));
    await alice.listTools();
    const port = Number(new URL(third.url).port);
    await third.stop();
    await waitFor(async () => !(await alice.listTools()).tools.some((t) => t.name === 'tp_echo'), 10_000);
    expect(h.gateway.upstreamStates().find((s) => s.id === 'tp')?.state).not.toBe('ready');
    const error = await alice
      .callTool({ name: 'tp_echo', arguments: { message: 'x' } })
      .catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(-32602);
    third = await startHttpChild('tp', port);
    await waitFor(async () => (await alice.listTools()).tools.some((t) => t.name === 'tp_echo'), 10_000);
    expect(changes).toBeGreaterThanOrEqual(2);
    expect(textOf(await alice.callTool({ name: 'tp_echo', arguments: { message: 'back' } }))).toBe(
      'tp: back',
    );
  });
});
