// An HTTP child that someone else supervises (the launcher) comes back before the proxy's own reconnect
// backoff runs out: `gateway.reconnect(id)` (what the launcher calls when its supervisor sees the child
// ready) finds it at once, so its tools return without waiting out the backoff.
import { afterAll, describe, expect, it } from 'vitest';
import { startHarness, startHttpChild, textOf, waitFor, type Harness, type RunningChild } from './harness.ts';

let child: RunningChild | undefined;
let h: Harness | undefined;

afterAll(async () => {
  await h?.close();
  await child?.stop();
});

describe('a launcher-supervised HTTP child that restarts', () => {
  it('is reconnected at once when its supervisor says it is back, not after the proxy backoff', async () => {
    child = await startHttpChild('web');
    const port = new URL(child.url).port;
    h = await startHarness(
      `
servers:
  - id: web
    transport: http
    url: ${child.url}
    restart: { backoffMs: 60000, maxBackoffMs: 60000 }
policy:
  rules:
    - { id: all, subjects: ['*'], servers: ['*'], allow: ['*'] }
`,
      { healthIntervalMs: 200 },
    );
    const state = () => h!.gateway.upstreamStates()[0]!.state;
    expect(state()).toBe('ready');

    await child.stop();
    await waitFor(() => state() !== 'ready', 10_000);
    child = await startHttpChild('web', Number(port));
    // The proxy's own retry is a minute away: without a nudge the child stays unseen.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(state()).not.toBe('ready');

    h.gateway.reconnect('web');
    await waitFor(() => state() === 'ready', 5_000);
    const client = await h.connect('alice');
    const result = await client.callTool({ name: 'web_echo', arguments: { message: 'back' } });
    expect(textOf(result)).toContain('back');
    await client.close();

    // A nudge while connected changes nothing.
    h.gateway.reconnect('web');
    expect(state()).toBe('ready');
  }, 30_000);
});
