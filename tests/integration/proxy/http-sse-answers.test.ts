// 2025-era HTTP children that answer calls with an SSE stream (the SDK servers' default): the proxy reads
// those streams on its direct path (proxy/upstreams/child-http-transport.ts). Progress, log lines and the
// child's own requests on a call's stream reach the caller that made the call, even on one connection
// shared by several agents; a stream the child closes early is resumed with Last-Event-ID; a child that
// dies mid-stream fails the call promptly.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingFixture, type RunningFixture } from '../../helpers/everything-fixture.ts';
import { startHarness, startHttpChild, textOf, waitFor, type Harness, type RunningChild } from './harness.ts';

let child: RunningChild;
let doomed: RunningChild;
let everything: RunningFixture;
let h: Harness;

beforeAll(async () => {
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
policy:
  rules:
    - id: all
      subjects: ['*']
      servers: ['*']
      allow: ['*']
`);
});

afterAll(async () => {
  await h?.close();
  await child?.stop();
  await doomed?.stop();
  await everything?.stop();
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

  it("routes each call's sampling to its own caller on a shared connection", async () => {
    // Two agents' calls in flight on one connection: only the stream a request came on tells them apart.
    const ann = await h.connect(`ann-${era}`, { era, client: capabilities, setup: answeringAs('ann') });
    const bob = await h.connect(`bob-${era}`, { era, client: capabilities, setup: answeringAs('bob') });
    const [a, b] = await Promise.all([
      ann.callTool({ name: 'alpha_sample-related', arguments: { prompt: 'one' } }),
      bob.callTool({ name: 'alpha_sample-related', arguments: { prompt: 'two' } }),
    ]);
    expect(textOf(a)).toBe('sampled: ann answers one');
    expect(textOf(b)).toBe('sampled: bob answers two');
  });

  it('round-trips an elicitation', async () => {
    const cy = await h.connect(`cy-${era}`, { era, client: capabilities, setup: answeringAs('cy') });
    const result = await cy.callTool({ name: 'alpha_elicit', arguments: { question: 'who?' } });
    expect(textOf(result)).toBe('elicited: accept {"answer":"cy"}');
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

  it('fails a call promptly when the child dies mid-stream, and keeps serving', async () => {
    const client = await h.connect('dies');
    const started = Date.now();
    const call = client.callTool({ name: 'doomed_slow', arguments: { steps: 100, delayMs: 50 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await doomed.stop();
    const outcome = await call.then(
      (result) => JSON.stringify(result),
      (error: unknown) => String(error),
    );
    expect(outcome).toMatch(/unavailable|closed|disconnected|error/i);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'still' } }))).toBe(
      'alpha: still',
    );
  });
});
