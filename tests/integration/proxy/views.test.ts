// Per-agent views over time: policy hot reload announces list changes only to agents whose view
// changed, lists page across children with an opaque cursor, and name collisions are reported and
// resolved deterministically (the later server loses).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../auth/policy.ts';
import { parseConfig } from '../../../config/load.ts';
import { childServer, startHarness, textOf, waitFor, type Harness } from './harness.ts';

const servers = `
servers:
${childServer('a', { args: ['--extra-tool', 'b_x'] })}
${childServer('ab', { namespace: 'a_b', args: ['--extra-tool', 'x'] })}
`;
const policy = (aliceAllow: string) => `
policy:
  rules:
    - id: alice
      subjects: [alice]
      servers: ['*']
      allow: [${aliceAllow}]
    - id: bob
      subjects: [bob]
      servers: ['*']
      allow: ['*']
`;

const warnings: Array<Record<string, unknown>> = [];
let h: Harness;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      warnings.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  h = await startHarness(servers + policy("'a_echo'"), {
    pageSize: 3,
    logger: pino({ level: 'warn' }, sink),
  });
});
afterAll(async () => {
  await h?.close();
});

describe('name collisions', () => {
  it('keeps the earlier server, reports the collision, and routes by the table', async () => {
    const bob = await h.connect('bob');
    const names = (await bob.listTools()).tools.map((t) => t.name);
    expect(names.filter((n) => n === 'a_b_x')).toHaveLength(1);
    expect(textOf(await bob.callTool({ name: 'a_b_x', arguments: {} }))).toBe('a:b_x');
    expect(warnings.some((w) => w.code === 'ERR_NAME_COLLISION' && w.name === 'a_b_x')).toBe(true);
  });
});

describe('pagination', () => {
  it('pages the merged list with an opaque cursor and the SDK walks every page', async () => {
    const bob = await h.connect('bob');
    const first = await bob.request({ method: 'tools/list', params: {} });
    expect(first.tools).toHaveLength(3);
    expect(typeof first.nextCursor).toBe('string');
    const second = await bob.listTools({ cursor: first.nextCursor! });
    expect(second.tools).toHaveLength(3);
    expect(second.tools[0]!.name).not.toBe(first.tools[0]!.name);
    const all = await bob.listTools();
    expect(all.tools.length).toBeGreaterThan(20);
    expect(new Set(all.tools.map((t) => t.name)).size).toBe(all.tools.length);
    const bad = await bob.listTools({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect((bad as { code?: number }).code).toBe(-32602);
  });
});

describe('policy hot reload', () => {
  it('announces list_changed to agents whose view changed, in both eras, and not to others', async () => {
    const alice = await h.connect('alice');
    const aliceModern = await h.connect('alice', { era: 'modern' });
    const bob = await h.connect('bob');
    let aliceChanged = 0;
    let aliceModernChanged = 0;
    let bobChanged = 0;
    alice.setNotificationHandler('notifications/tools/list_changed', () => void (aliceChanged += 1));
    aliceModern.setNotificationHandler(
      'notifications/tools/list_changed',
      () => void (aliceModernChanged += 1),
    );
    bob.setNotificationHandler('notifications/tools/list_changed', () => void (bobChanged += 1));
    const listen = await aliceModern.listen({ toolsListChanged: true });
    expect((await alice.listTools()).tools.map((t) => t.name)).toEqual(['a_echo']);

    h.gateway.setPolicy(compilePolicy(parseConfig(servers + policy("'a_echo', 'a_add'"), 'reload.yaml')));

    await waitFor(() => aliceChanged > 0 && aliceModernChanged > 0);
    expect((await alice.listTools()).tools.map((t) => t.name)).toEqual(['a_echo', 'a_add']);
    expect((await aliceModern.listTools()).tools.map((t) => t.name)).toEqual(['a_echo', 'a_add']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bobChanged).toBe(0);
    await listen.close();
  });
});
