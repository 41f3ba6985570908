// The everything fixture beyond what the conformance scenarios check: it serves stdio too, and a
// subscribed client really receives notifications/resources/updated in both HTTP eras.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { VersionNegotiationMode } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING_FIXTURE_MAIN, startEverythingFixture } from '../../helpers/everything-fixture.ts';
import type { RunningFixture } from '../../helpers/everything-fixture.ts';

const WATCHED = 'test://watched-resource';

async function waitFor(predicate: () => boolean, ms = 2_000): Promise<void> {
  for (let waited = 0; !predicate() && waited < ms; waited += 25) await new Promise((r) => setTimeout(r, 25));
}

function newClient(mode: VersionNegotiationMode): Client {
  return new Client({ name: 'fixture-test', version: '1.0.0' }, { versionNegotiation: { mode } });
}

describe('everything fixture server', () => {
  let fixture: RunningFixture;
  beforeAll(async () => {
    fixture = await startEverythingFixture();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('prints its listening URL on one stdout line and serves MCP there', () => {
    expect(fixture.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('serves the same tools over stdio', async () => {
    const client = newClient('legacy');
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [EVERYTHING_FIXTURE_MAIN, '--stdio'] }),
    );
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['test_simple_text', 'test_sampling', 'echo']));
      const result = await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } });
      expect(result.content).toEqual([{ type: 'text', text: 'over stdio' }]);
    } finally {
      await client.close();
    }
  });

  it('notifies a 2025-era subscriber when the watched resource changes, and stops after unsubscribe', async () => {
    const client = newClient('legacy');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url)));
    try {
      await client.subscribeResource({ uri: WATCHED });
      await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
      await waitFor(() => updates.length > 0);
      expect(updates).toEqual([WATCHED]);

      await client.unsubscribeResource({ uri: WATCHED });
      await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
      await new Promise((r) => setTimeout(r, 200));
      expect(updates).toEqual([WATCHED]);
    } finally {
      await client.close();
    }
  });

  it('notifies a 2026-07-28 listener on its subscriptions/listen stream', async () => {
    const client = newClient({ pin: '2026-07-28' });
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url)));
    try {
      const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
      await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
      await waitFor(() => updates.length > 0);
      await subscription.close();
      expect(updates).toEqual([WATCHED]);
    } finally {
      await client.close();
    }
  });

  it('rejects a request whose Host is not loopback (DNS-rebinding protection)', async () => {
    const { request } = await import('node:http');
    const url = new URL(fixture.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { host: 'evil.example.com', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    });
    expect(status).toBe(403);
  });
});
