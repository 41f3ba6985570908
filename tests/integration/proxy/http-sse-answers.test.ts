// 2025-era HTTP children that answer calls with an SSE stream (the SDK servers' default): the proxy reads
// those streams on its direct path (proxy/upstreams/child-http-transport.ts). Progress, log lines and the
// child's own requests reach the caller that made the call, with several agents calling at once (each has
// a session of its own with such a child); a stream the child closes early is resumed with Last-Event-ID;
// one that ends without the answer, or a child that dies mid-stream, fails the call promptly.
import { lanesOn } from '../../helpers/lanes.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingFixture, type RunningFixture } from '../../helpers/everything-fixture.ts';
import {
  allowAllPolicy,
  startHarness,
  startHttpChild,
  textOf,
  waitFor,
  type Harness,
  type RunningChild,
} from './harness.ts';

let child: RunningChild;
let doomed: RunningChild;
let everything: RunningFixture;
let hostile: Server;
let h: Harness;

/**
 * A hostile 2025-era child, hand-written because no SDK server misbehaves on purpose: it handshakes and
 * lists two tools, then answers `garbage` with an SSE stream of non-JSON that ends without a response,
 * and `cut` with half an event before tearing the connection down.
 */
function startHostileChild(): Promise<string> {
  hostile = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const message = JSON.parse(raw) as { id?: number; method: string; params?: { name?: string } };
      const json = (result: unknown) =>
        res
          .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'hostile-session' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      if (message.id === undefined) return void res.writeHead(202).end();
      if (message.method === 'initialize')
        return void json({
          protocolVersion: '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'hostile', version: '1' },
        });
      if (message.method === 'tools/list')
        return void json({
          tools: ['garbage', 'cut'].map((name) => ({ name, inputSchema: { type: 'object' } })),
        });
      if (message.method !== 'tools/call') return void json({});
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (message.params?.name === 'garbage') return void res.end('data: this is not json\n\ndata: {\n\n');
      res.write('event: message\ndata: {"jsonrpc":"2.0","id":');
      setTimeout(() => res.destroy(), 50);
    });
  });
  return new Promise((resolve) =>
    hostile.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(hostile.address() as AddressInfo).port}/mcp`),
    ),
  );
}

beforeAll(async () => {
  const hostileUrl = await startHostileChild();
  child = await startHttpChild('alpha');
  doomed = await startHttpChild('doomed');
  everything = await startEverythingFixture();
  h = await startHarness(`
servers:
  - id: alpha
    transport: http
    url: ${child.url}
    protocol: 2025-11-25
  - id: doomed
    transport: http
    url: ${doomed.url}
    protocol: 2025-11-25
  - id: ev
    transport: http
    url: ${everything.url}
    protocol: 2025-11-25
  - id: bad
    transport: http
    url: ${hostileUrl}
    protocol: 2025-11-25
${allowAllPolicy('*')}`);
});

afterAll(async () => {
  await h?.close();
  await child?.stop();
  await doomed?.stop();
  await everything?.stop();
  hostile?.close();
});

const capabilities = { capabilities: { sampling: {}, elicitation: { form: {} } } };
const answeringAs = (who: string) => (client: Client) => {
  client.setRequestHandler('sampling/createMessage', (req) => {
    const first = req.params.messages[0]?.content;
    const asked = first && !Array.isArray(first) && first.type === 'text' ? first.text : '';
    return { model: 'm', role: 'assistant', content: { type: 'text', text: `${who} answers ${asked}` } };
  });
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { answer: who } }));
};

describe.each(['legacy', 'modern'] as const)('SSE answers from a 2025-era HTTP child (%s client)', (era) => {
  it('relays progress in order, before the result', async () => {
    const client = await h.connect(`progress-${era}`, { era });
    const seen: number[] = [];
    const result = await client.callTool(
      { name: 'alpha_slow', arguments: { steps: 4, delayMs: 20 } },
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(textOf(result)).toBe('done after 4 steps');
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("routes each agent's sampling to that agent, on the call's stream or the session's", async () => {
    // Two agents' calls in flight at once. `sample-related` asks on the call's own stream; `sample` asks
    // unrelated to the call (the SDK's requestSampling), on the session's standalone stream, which tells
    // agents apart only because each agent has a session of its own with a 2025-era child.
    for (const tool of ['alpha_sample-related', 'alpha_sample']) {
      const ann = await h.connect(`ann-${era}`, { era, client: capabilities, setup: answeringAs('ann') });
      const bob = await h.connect(`bob-${era}`, { era, client: capabilities, setup: answeringAs('bob') });
      const [a, b] = await Promise.all([
        ann.callTool({ name: tool, arguments: { prompt: 'one' } }),
        bob.callTool({ name: tool, arguments: { prompt: 'two' } }),
      ]);
      expect(textOf(a)).toBe('sampled: ann answers one');
      expect(textOf(b)).toBe('sampled: bob answers two');
    }
  });

  it('round-trips an elicitation', async () => {
    const cy = await h.connect(`cy-${era}`, { era, client: capabilities, setup: answeringAs('cy') });
    const result = await cy.callTool({ name: 'alpha_elicit', arguments: { question: 'who?' } });
    expect(textOf(result)).toBe('elicited: accept {"answer":"cy"}');
  });

  it('cancels the call at the child when the agent cancels', async () => {
    const client = await h.connect(`cancel-${era}`, { era });
    const before = Number(textOf(await client.callTool({ name: 'alpha_cancelled', arguments: {} })));
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'alpha_slow', arguments: { steps: 100, delayMs: 20 } },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toThrow();
    await waitFor(
      async () => Number(textOf(await client.callTool({ name: 'alpha_cancelled', arguments: {} }))) > before,
    );
  });

  it('resumes a stream the child closes mid-call (Last-Event-ID)', async () => {
    const client = await h.connect(`resume-${era}`, { era });
    const result = await client.callTool({ name: 'ev_test_reconnection', arguments: {} });
    expect(textOf(result)).toBe('Reconnection test completed');
  });
});

describe('SSE answers: failure', () => {
  it('forwards the log lines a call streams to its caller', async () => {
    const client = await h.connect('logs');
    const lines: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void lines.push(n.params.data));
    await client.callTool({ name: 'alpha_log', arguments: { message: 'streamed line', level: 'warning' } });
    await waitFor(() => lines.length > 0);
    expect(JSON.stringify(lines)).toContain('streamed line');
  });

  it('fails a call at once when a stream ends without its answer, garbage or cut, and keeps serving', async () => {
    const client = await h.connect('hostile');
    for (const name of ['bad_garbage', 'bad_cut']) {
      const started = Date.now();
      const outcome = await client.callTool({ name, arguments: {} }).then(
        (result) => JSON.stringify(result),
        (error: unknown) => String(error),
      );
      if (lanesOn) {
        expect(outcome).toContain('The child ended its answer stream without answering');
        expect(Date.now() - started).toBeLessThan(2000);
      } else {
        // The SDK's own reader (lanes off) waits for the call timeout: failing at once is the direct path's.
        expect(outcome).toMatch(/error/i);
      }
    }
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'on' } }))).toBe(
      'alpha: on',
    );
  });

  it('fails a call promptly when the child dies mid-stream, and keeps serving', async () => {
    const client = await h.connect('dies');
    const started = Date.now();
    // The outcome is taken at once: the call may fail while the child is still being stopped.
    const outcome = client.callTool({ name: 'doomed_slow', arguments: { steps: 100, delayMs: 50 } }).then(
      (result) => JSON.stringify(result),
      (error: unknown) => String(error),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await doomed.stop();
    expect(await outcome).toMatch(/unavailable|closed|disconnected|error/i);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'still' } }))).toBe(
      'alpha: still',
    );
  });
});
