// Relaying both ways: progress, logging, cancellation, list_changed, resource updates and the
// child's sampling / elicitation / roots requests answered by the agent's client, in both eras.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  childServer,
  modernEnvelope,
  postAs,
  startHarness,
  textOf,
  waitFor,
  type Harness,
} from './harness.ts';

const yaml = `
servers:
${childServer('alpha')}
policy:
  rules:
    - id: all
      subjects: ['*']
      servers: ['*']
      allow: ['*', 'test://**']
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(yaml);
});
afterAll(async () => {
  await h?.close();
});

const answering = (client: Client): void => {
  client.setRequestHandler('sampling/createMessage', (req) => {
    const first = req.params.messages[0]?.content;
    const asked = first && !Array.isArray(first) && first.type === 'text' ? first.text : '';
    return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `answer to ${asked}` } };
  });
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { answer: 'blue' } }));
  client.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///work/root' }] }));
};
const capabilities = { capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} } };

/** How many slow calls the child has seen cancelled so far (the child's own count). */
const cancelledCount = async (client: Client): Promise<number> =>
  Number(textOf(await client.callTool({ name: 'alpha_cancelled', arguments: {} })));

for (const era of ['legacy', 'modern'] as const) {
  describe(`relay (${era} era)`, () => {
    it('relays progress of a long-running call under the agent progress token', async () => {
      const client = await h.connect(`p-${era}`, { era });
      const seen: number[] = [];
      const result = await client.callTool(
        { name: 'alpha_slow', arguments: { steps: 3, delayMs: 30 } },
        { onprogress: (p) => seen.push(p.progress) },
      );
      expect(textOf(result)).toBe('done after 3 steps');
      expect(seen).toEqual([1, 2, 3]);
    });

    it('relays a sampling request to the calling client and its answer back', async () => {
      const client = await h.connect(`s-${era}`, { era, client: capabilities, setup: answering });
      const result = await client.callTool({
        name: 'alpha_sample',
        arguments: { prompt: 'six times seven' },
      });
      expect(textOf(result)).toBe('sampled: answer to six times seven');
    });

    it('round-trips an elicitation', async () => {
      const client = await h.connect(`e-${era}`, { era, client: capabilities, setup: answering });
      const result = await client.callTool({
        name: 'alpha_elicit',
        arguments: { question: 'favourite colour?' },
      });
      expect(textOf(result)).toBe('elicited: accept {"answer":"blue"}');
    });

    it('relays a roots request', async () => {
      const client = await h.connect(`r-${era}`, { era, client: capabilities, setup: answering });
      const result = await client.callTool({ name: 'alpha_roots', arguments: {} });
      expect(textOf(result)).toBe('roots: file:///work/root');
    });

    it('forwards the child log messages of a call to the caller', async () => {
      const client = await h.connect(`l-${era}`, { era });
      const lines: unknown[] = [];
      client.setNotificationHandler('notifications/message', (n) => void lines.push(n.params.data));
      await client.callTool({ name: 'alpha_log', arguments: { message: 'hello log', level: 'warning' } });
      await waitFor(() => lines.length > 0);
      expect(lines).toContain('hello log');
    });
  });
}

describe('relay (legacy only)', () => {
  it('delivers resources/updated for a subscribed resource', async () => {
    const client = await h.connect('sub');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.subscribeResource({ uri: 'test://counter' });
    await client.callTool({ name: 'alpha_bump', arguments: {} });
    await waitFor(() => updates.length > 0);
    expect(updates).toEqual(['test://counter']);
  });

  it('sends tools/list_changed when a child changes its tools', async () => {
    const client = await h.connect('lc');
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void (changed += 1));
    const before = (await client.listTools()).tools.map((t) => t.name);
    await client.callTool({ name: 'alpha_toggle', arguments: {} });
    await waitFor(() => changed > 0);
    const after = (await client.listTools()).tools.map((t) => t.name);
    expect(after.includes('alpha_extra')).toBe(!before.includes('alpha_extra'));
    await client.callTool({ name: 'alpha_toggle', arguments: {} });
  });

  it('filters child log lines by the level the session set', async () => {
    const client = await h.connect('levels');
    const lines: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void lines.push(n.params.data));
    await client.setLoggingLevel('error');
    await client.callTool({ name: 'alpha_log', arguments: { message: 'quiet', level: 'info' } });
    await client.callTool({ name: 'alpha_log', arguments: { message: 'loud', level: 'error' } });
    await waitFor(() => lines.includes('loud'));
    expect(lines).not.toContain('quiet');
  });

  it('keeps another session hearing every level after one session raised its own', async () => {
    // Its own raised session, here, rather than an earlier test's: this test stands alone.
    const raised = await h.connect('levels-raised');
    const raisedLines: unknown[] = [];
    raised.setNotificationHandler('notifications/message', (n) => void raisedLines.push(n.params.data));
    await raised.setLoggingLevel('error');
    const other = await h.connect('levels-other');
    const lines: unknown[] = [];
    other.setNotificationHandler('notifications/message', (n) => void lines.push(n.params.data));
    await other.callTool({ name: 'alpha_log', arguments: { message: 'still heard', level: 'info' } });
    await raised.callTool({ name: 'alpha_log', arguments: { message: 'not for raised', level: 'info' } });
    await raised.callTool({
      name: 'alpha_log',
      arguments: { message: 'raised hears errors', level: 'error' },
    });
    await waitFor(() => lines.includes('still heard') && raisedLines.includes('raised hears errors'));
    expect(lines).toContain('still heard');
    expect(raisedLines).not.toContain('not for raised');
  });

  it('forwards roots/list_changed from the agent to the children', async () => {
    const client = await h.connect('roots-lc', {
      client: { capabilities: { ...capabilities.capabilities, roots: { listChanged: true } } },
      setup: answering,
    });
    const before = Number(textOf(await client.callTool({ name: 'alpha_roots-changed', arguments: {} })));
    await client.sendRootsListChanged();
    await waitFor(
      async () =>
        Number(textOf(await client.callTool({ name: 'alpha_roots-changed', arguments: {} }))) > before,
    );
  });

  it('fails closed when a stdio child asks while calls of two agents are in flight on it', async () => {
    let asked = 0;
    const other = await h.connect('other-agent', {
      client: capabilities,
      setup: (c) =>
        c.setRequestHandler('sampling/createMessage', () => {
          asked += 1;
          return { model: 'm', role: 'assistant', content: { type: 'text', text: 'leak' } };
        }),
    });
    const caller = await h.connect('caller-agent', { client: capabilities, setup: answering });
    const slow = other.callTool({ name: 'alpha_slow', arguments: { steps: 10, delayMs: 50 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await caller
      .callTool({ name: 'alpha_sample', arguments: { prompt: 'secret' } })
      .catch((e: unknown) => e);
    await slow;
    expect(asked).toBe(0);
    expect(JSON.stringify(result)).not.toContain('answer to secret');
    // The child did ask, and was refused (a child that never asked would not say this).
    const said = result instanceof Error ? result.message : textOf(result);
    expect(said).toContain('No caller to relay this request to');
  });

  it('cancels the upstream call when the agent cancels', async () => {
    const client = await h.connect('cancel');
    const before = await cancelledCount(client);
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'alpha_slow', arguments: { steps: 50, delayMs: 50 } },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toThrow();
    // The child itself saw the cancellation (its slow call stopped early), not only the client's own abort.
    await waitFor(async () => cancelledCount(client).then((n) => n > before), 3000);
    // The proxy stays usable for the same session.
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'after' } }))).toBe(
      'alpha: after',
    );
  });
});

describe('relay (modern only)', () => {
  it('cancels the upstream call when the agent aborts the request', async () => {
    const client = await h.connect('cancel-modern', { era: 'modern' });
    const before = await cancelledCount(client);
    h.events.length = 0;
    const controller = new AbortController();
    const started = Date.now();
    const call = client.callTool(
      { name: 'alpha_slow', arguments: { steps: 50, delayMs: 50 } },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toThrow();
    await waitFor(() => h.events.some((e) => e.name === 'alpha_slow'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.events.find((e) => e.name === 'alpha_slow')?.outcome).toBe('error');
    await waitFor(async () => cancelledCount(client).then((n) => n > before), 3000);
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'after' } }))).toBe(
      'alpha: after',
    );
  });

  it('delivers a resource update on a subscriptions/listen stream', async () => {
    const client = await h.connect('listen', { era: 'modern' });
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const sub = await client.listen({ resourceSubscriptions: ['test://counter'] });
    await client.callTool({ name: 'alpha_bump', arguments: {} });
    await waitFor(() => updates.length > 0);
    expect(updates).toEqual(['test://counter']);
    await sub.close();
  });

  it('rejects an Mcp-Name header that disagrees with the body', async () => {
    const response = await postAs(
      h,
      'raw',
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'alpha_add' },
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'alpha_echo', arguments: { message: 'x' }, _meta: modernEnvelope },
      },
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error?: { code?: number } };
    expect(body.error?.code).toBe(-32020);
  });

  it('marks per-agent lists cacheScope private', async () => {
    const response = await postAs(
      h,
      'raw',
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: modernEnvelope } },
    );
    const body = (await response.json()) as { result?: { cacheScope?: string; tools?: unknown[] } };
    expect(body.result?.cacheScope).toBe('private');
    expect(body.result?.tools?.length).toBeGreaterThan(0);
  });
});
