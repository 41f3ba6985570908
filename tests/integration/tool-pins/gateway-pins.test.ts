// Tool-definition pinning through the real gateway and a real stdio child: when the child changes echo's
// description after it was pinned (and says list_changed), echo leaves every agent's list and answers like an
// unknown tool; once approved it comes back with the new description. A pin file survives a new gateway.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToolPins, type ToolPins } from '../../../proxy/tool-pins/pins.ts';
import { openPinStore, pinFileIn } from '../../../proxy/tool-pins/store.ts';
import { allowAllPolicy, childServer, startHarness, waitFor, type Harness } from '../proxy/harness.ts';

const yaml = `servers:\n${childServer('kid')}\n${allowAllPolicy('*')}`;
let dir: string;
let pins: ToolPins;
let h: Harness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpcp-gw-pins-'));
  pins = createToolPins({ store: openPinStore(pinFileIn(dir)), mode: 'hide' });
  h = await startHarness(yaml, { toolGate: pins });
});
afterAll(async () => {
  await h?.close();
  pins?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tool pins in the gateway', () => {
  it('hides a tool whose definition changed from lists and calls until approved', async () => {
    const alice = await h.connect('alice');
    const listed = async () => (await alice.listTools()).tools.map((t) => t.name);
    expect(await listed()).toContain('kid_echo');
    let changed = 0;
    alice.setNotificationHandler('notifications/tools/list_changed', () => void (changed += 1));

    await alice.callTool({ name: 'kid_rug-pull', arguments: {} });
    await waitFor(() => pins.list().some((p) => p.tool === 'echo' && p.status === 'changed'));
    await waitFor(async () => !(await listed()).includes('kid_echo'));
    await waitFor(() => changed > 0);
    const outcome = (name: string) =>
      alice.callTool({ name, arguments: { message: 'x' } }).then(
        (r) => ({ result: r }),
        (error: Error & { code?: number }) => ({
          code: error.code,
          message: error.message.replace(name, 'NAME'),
        }),
      );
    const refused = await outcome('kid_echo');
    expect(refused).toMatchObject({ code: -32602 });
    expect(refused).toEqual(await outcome('kid_never-existed'));
    expect(h.gateway.upstreamStates()[0]!.tools).toBe((await listed()).length);

    const diff = pins.diff('kid', 'echo')!;
    expect(diff.changes.map((c) => c.path)).toEqual(['description']);
    pins.approve('kid', 'echo', 'test-operator', diff.state.seenHash);
    await waitFor(async () => (await listed()).includes('kid_echo'));
    const echo = (await alice.listTools()).tools.find((t) => t.name === 'kid_echo')!;
    expect(echo.description).toContain('~/.ssh');
  });

  it('a new gateway over the same pin file still knows the approved definition', () => {
    const again = createToolPins({ store: openPinStore(pinFileIn(dir)), mode: 'hide' });
    try {
      const echo = again.list().find((p) => p.tool === 'echo')!;
      expect(echo).toMatchObject({ status: 'pinned', approvedBy: 'test-operator' });
    } finally {
      again.close();
    }
  });
});
