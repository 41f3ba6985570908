// An HTTP child that went away before the proxy's health check noticed: a call to it fails at once with
// a clear "unavailable" error (and the audit outcome says so), not a bare "Internal error".
import { describe, expect, it } from 'vitest';
import { allowAllPolicy, harnessWithHttpChild, textOf } from './harness.ts';

const t = harnessWithHttpChild(
  'gone',
  (url) => `
servers:
  - id: gone
    transport: http
    url: ${url}
${allowAllPolicy('*')}`,
  // The health check must not notice during the test: the call is what finds the child gone.
  { healthIntervalMs: 60_000 },
);

describe('an http child gone before the health check noticed', () => {
  it('fails a call promptly with an unavailable error naming the server', async () => {
    const { h, child } = t;
    const alice = await h.connect('alice');
    expect(textOf(await alice.callTool({ name: 'gone_echo', arguments: { message: 'x' } }))).toBe('gone: x');
    await child.stop();
    const started = Date.now();
    const error = await alice
      .callTool({ name: 'gone_echo', arguments: { message: 'y' } })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((error as { code?: number }).code).toBe(-32603);
    expect((error as Error).message).toContain('Server gone is unavailable');
    expect(h.events.at(-1)).toMatchObject({ name: 'gone_echo', outcome: 'unavailable' });
  });
});
