// The upstream direct lane (proxy/upstreams/direct-request.ts): a plain tools/call to an HTTP child goes
// past the SDK Client's request machinery, in both child eras. It must send what the Client sends (the
// same envelope and arguments, compared with the same call sent down the Client's path, which a progress
// token forces) and answer what the Client's path answers (results, tool errors, protocol errors); time
// out at the configured timeout; carry the agent's cancellation to the child; and fail promptly when the
// child dies mid-call.
import { laneTakes } from '../../helpers/lanes.ts';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChildHttpTransport } from '../../../proxy/upstreams/child-http-transport.ts';
import {
  allowAllPolicy,
  startHarness,
  startHttpChild,
  textOf,
  waitFor,
  type Harness,
  type RunningChild,
} from './harness.ts';

let modern: RunningChild;
let legacy: RunningChild;
let doomedModern: RunningChild;
let doomedLegacy: RunningChild;
let h: Harness;
let alice: Client;
/** Counts the requests that take the lane (every one goes through ChildHttpTransport.request). */
const lane = { calls: 0 };
type LaneRequest = (
  this: ChildHttpTransport,
  ...args: Parameters<ChildHttpTransport['request']>
) => ReturnType<ChildHttpTransport['request']>;
const laneRequest = Object.getOwnPropertyDescriptor(ChildHttpTransport.prototype, 'request')!
  .value as LaneRequest;
ChildHttpTransport.prototype.request = function (this: ChildHttpTransport, ...args) {
  lane.calls += 1;
  return laneRequest.apply(this, args);
};
const timeoutMs = 1500;

beforeAll(async () => {
  [modern, legacy, doomedModern, doomedLegacy] = await Promise.all([
    startHttpChild('mod', 0, ['--modern']),
    startHttpChild('leg'),
    startHttpChild('dmod', 0, ['--modern']),
    startHttpChild('dleg'),
  ]);
  h = await startHarness(
    `
servers:
  - id: mod
    transport: http
    url: ${modern.url}
  - id: leg
    transport: http
    url: ${legacy.url}
    protocol: 2025-11-25
  - id: dmod
    transport: http
    url: ${doomedModern.url}
  - id: dleg
    transport: http
    url: ${doomedLegacy.url}
    protocol: 2025-11-25
${allowAllPolicy('alice')}`,
    { callTimeoutMs: timeoutMs },
  );
  alice = await h.connect('alice');
});

afterAll(async () => {
  await h?.close();
  await Promise.all([modern, legacy, doomedModern, doomedLegacy].map((c) => c?.stop()));
});

beforeEach(() => (lane.calls = 0));

type Outcome = { result: unknown } | { error: { code: unknown; message: string } };

async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    return { result: await call };
  } catch (error) {
    const e = error as { code?: unknown; message: string };
    return { error: { code: e.code, message: e.message } };
  }
}

describe.each(['mod', 'leg'] as const)('the upstream direct lane toward a %s child', (server) => {
  it('sends a plain call as the Client would: the same envelope and _meta the Client path sends', async () => {
    const viaLane = JSON.parse(
      textOf(await alice.callTool({ name: `${server}_meta`, arguments: {}, _meta: { traceparent: 't1' } })),
    ) as { meta: Record<string, unknown>; envelope: unknown };
    expect(lane.calls).toBe(laneTakes(1));
    const viaClient = JSON.parse(
      textOf(
        await alice.callTool(
          { name: `${server}_meta`, arguments: {}, _meta: { traceparent: 't1' } },
          { onprogress: () => undefined },
        ),
      ),
    ) as { meta: Record<string, unknown>; envelope: unknown };
    expect(lane.calls).toBe(laneTakes(1));
    const { progressToken, ...clientMeta } = viaClient.meta;
    expect(progressToken).toBeDefined();
    expect(viaLane.meta).toEqual(clientMeta);
    expect(viaLane.envelope).toEqual(viaClient.envelope);
    expect(viaLane.meta.traceparent).toBe('t1');
  });

  it('answers results, tool errors and protocol errors exactly as the Client path does', async () => {
    const calls = [
      { name: `${server}_echo`, arguments: { message: 'hi' } },
      { name: `${server}_fail`, arguments: {} },
      { name: `${server}_add`, arguments: { a: 'not a number', b: 1 } },
      { name: `${server}_echo`, arguments: {} },
    ];
    for (const call of calls) {
      lane.calls = 0;
      const viaLane = await outcome(alice.callTool(call));
      expect(lane.calls).toBe(laneTakes(1));
      const viaClient = await outcome(alice.callTool(call, { onprogress: () => undefined }));
      expect(lane.calls).toBe(laneTakes(1));
      expect(viaLane).toEqual(viaClient);
    }
    expect(await outcome(alice.callTool(calls[1]!))).toMatchObject({ result: { isError: true } });
  });

  it('times out a call the child never answers at the configured timeout, and keeps serving', async () => {
    const started = Date.now();
    await expect(alice.callTool({ name: `${server}_hang`, arguments: {} })).rejects.toThrow(
      `Request to server ${server} timed out after ${timeoutMs} ms`,
    );
    expect(Date.now() - started).toBeLessThan(timeoutMs + 1000);
    expect(textOf(await alice.callTool({ name: `${server}_echo`, arguments: { message: 'after' } }))).toBe(
      `${server}: after`,
    );
    expect(h.events.at(-2)).toMatchObject({ name: `${server}_hang`, outcome: 'timeout' });
  });

  it("carries the agent's cancellation to the child", async () => {
    const before = Number(textOf(await alice.callTool({ name: `${server}_cancelled`, arguments: {} })));
    const abort = new AbortController();
    const call = alice.callTool(
      { name: `${server}_slow`, arguments: { steps: 40, delayMs: 25 } },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort('changed my mind'), 150);
    await expect(call).rejects.toThrow();
    await waitFor(
      async () =>
        Number(textOf(await alice.callTool({ name: `${server}_cancelled`, arguments: {} }))) === before + 1,
    );
  });
});

describe.each(['dmod', 'dleg'] as const)('the upstream direct lane toward a %s child that dies', (server) => {
  it('fails the call in flight promptly with a clear error', async () => {
    const started = Date.now();
    const result = await outcome(alice.callTool({ name: `${server}_crash`, arguments: {} }));
    expect(Date.now() - started).toBeLessThan(timeoutMs);
    expect(lane.calls).toBe(laneTakes(1));
    expect(result).toMatchObject({ error: { message: expect.stringContaining(server) } });
  });
});
