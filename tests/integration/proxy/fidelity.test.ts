// What works against a child directly works the same through the proxy (issue 15): a 2026-era child's own
// input_required rounds pass through with its keys and a fresh sealed requestState any replica can resume;
// subscriptions are advertised and tried only where a child takes them; a child's list-change stream that
// will not open is retried until it does; a child asking an agent for what it did not declare gets a clear
// refusal; the unprefixed child answers names no child lists.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingFixture, type RunningFixture } from '../../helpers/everything-fixture.ts';
import {
  childServer,
  modernEnvelope,
  postAs,
  startHarness,
  startHttpChild,
  textOf,
  waitFor,
  type Harness,
  type RunningChild,
} from './harness.ts';

const allowAll = `
policy:
  rules:
    - id: all
      subjects: ['*']
      servers: ['*']
      allow: ['**']
`;

const envelope = {
  ...modernEnvelope,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} }, sampling: {} },
};

async function modernCall(h: Harness, name: string, params: Record<string, unknown> = {}) {
  const response = await postAs(
    h,
    'alice',
    { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: { message: 'who are you?', prompt: 'hi' }, _meta: envelope, ...params },
    },
  );
  const text = await response.text();
  const json = text.startsWith('event:') ? text.split('\ndata: ')[1]!.split('\n')[0]! : text;
  return JSON.parse(json) as {
    result?: { resultType?: string; inputRequests?: Record<string, unknown>; requestState?: string };
    error?: { code: number; message: string };
  };
}

describe('a 2026-era child asking for input, through replicas sharing one key', () => {
  let fixture: RunningFixture;
  const harnesses: Harness[] = [];
  const key = new Uint8Array(randomBytes(32));

  beforeAll(async () => {
    fixture = await startEverythingFixture();
    const yaml = `
servers:
  - id: everything
    namespace: ''
    transport: http
    url: ${fixture.url}
${allowAll}`;
    harnesses.push(await startHarness(yaml, { requestStateKey: key }));
    harnesses.push(await startHarness(yaml, { requestStateKey: key }));
    harnesses.push(await startHarness(yaml, { requestStateKey: new Uint8Array(randomBytes(32)) }));
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await fixture?.stop();
  });

  it("hands the agent the child's own input requests, keys unchanged, with a fresh requestState each time", async () => {
    const [a] = harnesses;
    const first = await modernCall(a!, 'test_elicitation');
    const second = await modernCall(a!, 'test_elicitation');
    expect(first.result?.resultType).toBe('input_required');
    expect(Object.keys(first.result?.inputRequests ?? {})).toEqual(['user']);
    expect(first.result?.requestState).toEqual(expect.any(String));
    expect(second.result?.requestState).not.toBe(first.result?.requestState);
  });

  it('lets another replica with the same key resume the round, and refuses one without it', async () => {
    const [a, b, stranger] = harnesses;
    const round = await modernCall(a!, 'test_elicitation');
    const answers = {
      inputResponses: { user: { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } } },
      requestState: round.result?.requestState,
    };
    const resumed = await modernCall(b!, 'test_elicitation', answers);
    expect(textOf(resumed.result)).toContain('User response: action=accept');
    expect(textOf(resumed.result)).toContain('ada@example.com');
    const refused = await modernCall(stranger!, 'test_elicitation', answers);
    expect(refused.error?.code).toBe(-32602);
    expect(refused.error?.message).toMatch(/Invalid or expired requestState/);
  });

  it('refuses a requestState replayed for another tool', async () => {
    const [a] = harnesses;
    const round = await modernCall(a!, 'test_elicitation');
    const replayed = await modernCall(a!, 'test_sampling', { requestState: round.result?.requestState });
    expect(replayed.error?.code).toBe(-32602);
    expect(replayed.error?.message).toMatch(/belongs to another request/);
  });
});

describe('subscriptions, list changes and capabilities', () => {
  let child: RunningChild;
  let h: Harness;

  beforeAll(async () => {
    child = await startHttpChild('mod', 0, ['--modern', '--listen-fail', '2', '--no-subscribe']);
    h = await startHarness(`
servers:
${childServer('plain', { args: ['--no-subscribe'] })}
  - id: mod
    transport: http
    url: ${child.url}
${allowAll}`);
  });
  afterAll(async () => {
    await h?.close();
    await child?.stop();
  });

  it('advertises resource subscriptions only when a child takes them, and answers a subscribe at once', async () => {
    const alice = await h.connect('alice', { era: 'legacy' });
    expect(alice.getServerCapabilities()?.resources?.subscribe).toBe(false);
    const started = Date.now();
    await expect(alice.subscribeResource({ uri: 'test://counter' })).rejects.toMatchObject({
      code: -32601,
      message: expect.stringContaining('Server plain does not support resource subscriptions'),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("retries a child's list-change stream until it opens, and the change then reaches the agent", async () => {
    const alice = await h.connect('alice', { era: 'modern' });
    let changes = 0;
    alice.setNotificationHandler('notifications/tools/list_changed', () => void (changes += 1));
    const listen = await alice.listen({ toolsListChanged: true });
    // The child refused the proxy's first two listen requests; backoff brings the stream up within seconds.
    await waitFor(async () => {
      await alice.callTool({ name: 'mod_toggle', arguments: {} });
      await new Promise((resolve) => setTimeout(resolve, 300));
      return changes > 0;
    }, 15_000);
    expect(changes).toBeGreaterThan(0);
    await listen.close();
  });

  it('refuses, with the missing capability named, a child asking an agent for what it did not declare', async () => {
    const alice = await h.connect('alice', { era: 'legacy', client: { capabilities: {} } });
    const listed = (await alice.listTools()).tools.map((t) => t.name);
    expect(listed).toContain('plain_sample');
    const outcome = await alice.callTool({ name: 'plain_sample', arguments: { prompt: 'hi' } }).then(
      (result) => textOf(result),
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(/Missing required client capability: the calling agent did not declare sampling/);
  });
});
