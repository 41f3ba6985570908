// A proxy that closes ends the sessions it held with an HTTP child (its probe's and each agent's), so a
// child that outlives it, such as a remote server, does not keep them.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { allowAllPolicy, startHarness, startHttpChild, textOf, type RunningChild } from './harness.ts';

let child: RunningChild | undefined;
afterAll(async () => {
  await child?.stop();
});

async function sessions(client: Client, tool: string): Promise<number> {
  return Number(textOf(await client.callTool({ name: tool })));
}

describe('closing the proxy', () => {
  it('ends every session it held with an HTTP child', async () => {
    child = await startHttpChild('left');
    const h = await startHarness(`
servers:
  - id: left
    transport: http
    url: ${child.url}
${allowAllPolicy('*')}`);
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    await alice.callTool({ name: 'left_echo', arguments: { message: 'hi' } });
    expect(await sessions(bob, 'left_sessions')).toBe(3);

    await h.close();
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    await direct.connect(new StreamableHTTPClientTransport(new URL(child.url)));
    try {
      expect(await sessions(direct, 'sessions')).toBe(1);
    } finally {
      await direct.close();
    }
  });
});
