// A real third-party server behind the proxy: @modelcontextprotocol/server-everything over stdio,
// driven by an SDK client in both eras: namespaced tools, progress, sampling, elicitation and a
// resource subscription.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingBin, node, startHarness, textOf, waitFor, type Harness } from './harness.ts';

const yaml = `
servers:
  - id: everything
    transport: stdio
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(everythingBin)}, stdio]
policy:
  rules:
    - id: players
      subjects: ['*']
      servers: [everything]
      allow: ['everything_*', 'demo://**']
      deny: ['everything_get-env']
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(yaml, { callTimeoutMs: 20_000 });
});
afterAll(async () => {
  await h?.close();
});

const answering = (client: Client): void => {
  client.setRequestHandler('sampling/createMessage', () => ({
    model: 'stub-model',
    role: 'assistant',
    content: { type: 'text', text: 'a stubbed completion' },
  }));
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Ada' } }));
};
const capabilities = { capabilities: { sampling: {}, elicitation: { form: {} } } };

for (const era of ['legacy', 'modern'] as const) {
  describe(`server-everything behind the proxy (${era} era)`, () => {
    it('exposes its tools namespaced and hides denied ones', async () => {
      const client = await h.connect(`ev-${era}`, { era });
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything_echo');
      expect(names).toContain('everything_trigger-long-running-operation');
      expect(names).not.toContain('everything_get-env');
      expect(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n))).toBe(true);
      expect(
        textOf(await client.callTool({ name: 'everything_echo', arguments: { message: 'hi' } })),
      ).toContain('hi');
    });

    it('relays progress of a long-running operation', async () => {
      const client = await h.connect(`evp-${era}`, { era });
      const progress: number[] = [];
      const result = await client.callTool(
        { name: 'everything_trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      expect(result.isError).not.toBe(true);
      expect(progress).toEqual([1, 2, 3]);
    });

    it('answers its sampling request from the client', async () => {
      const client = await h.connect(`evs-${era}`, { era, client: capabilities, setup: answering });
      const result = await client.callTool({
        name: 'everything_trigger-sampling-request',
        arguments: { prompt: 'hello' },
      });
      expect(JSON.stringify(result.content)).toContain('a stubbed completion');
    });

    it('round-trips its elicitation', async () => {
      const client = await h.connect(`eve-${era}`, { era, client: capabilities, setup: answering });
      const result = await client.callTool({ name: 'everything_trigger-elicitation-request', arguments: {} });
      expect(JSON.stringify(result.content)).toContain('Ada');
    });
  });
}

describe('server-everything resource subscription (legacy era)', () => {
  it('delivers resources/updated for a subscribed resource', async () => {
    const client = await h.connect('ev-sub');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const uri = 'demo://resource/dynamic/text/1';
    expect((await client.readResource({ uri })).contents.length).toBe(1);
    await client.subscribeResource({ uri });
    await client.callTool({ name: 'everything_toggle-subscriber-updates', arguments: {} });
    await waitFor(() => updates.length > 0, 15_000);
    expect(updates[0]).toBe(uri);
    await client.callTool({ name: 'everything_toggle-subscriber-updates', arguments: {} });
  });
});
