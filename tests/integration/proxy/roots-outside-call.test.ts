// A child asking for roots outside any call (as servers do after initialize): on a connection that is one
// agent's (a 2025-era HTTP child) the agent's own session answers with its roots; on a shared one (a stdio
// child) the proxy answers an empty list, instead of the error that servers used to log on every start.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { allowAllPolicy, childServer, harnessWithHttpChild, textOf, waitFor } from './harness.ts';

const t = harnessWithHttpChild(
  'beta',
  (url) => `
servers:
${childServer('alpha')}
  - id: beta
    transport: http
    url: ${url}
${allowAllPolicy('*')}`,
);

const withRoots = (uri: string) => ({
  client: { capabilities: { roots: {} } },
  setup: (client: Client) => client.setRequestHandler('roots/list', () => ({ roots: [{ uri }] })),
});

/** Has the child ask for roots after its call has ended, and returns what that request got. */
async function rootsOutsideCall(client: Client, server: string): Promise<string> {
  const report = join(await mkdtemp(join(tmpdir(), 'mcpcp-roots-')), 'seen');
  expect(textOf(await client.callTool({ name: `${server}_roots-later`, arguments: { report } }))).toBe(
    'asking',
  );
  // The child writes what it got to a file: waiting for it puts no call of ours in flight while the child asks
  // (a stdio child's request during a call goes to that call's caller, proxy/gateway/README.md).
  let seen: string | undefined;
  await waitFor(async () => {
    seen = await readFile(report, 'utf8').catch(() => undefined);
    return seen !== undefined && seen !== '';
  });
  return seen!;
}

describe('roots asked outside any call', () => {
  it("reach the agent's own session on a connection that is the agent's", async () => {
    const alice = await t.h.connect('alice', withRoots('file:///alice'));
    expect(await rootsOutsideCall(alice, 'beta')).toBe('roots: file:///alice');
  });

  it('answer an empty list when the agent cannot list roots', async () => {
    const bob = await t.h.connect('bob');
    expect(await rootsOutsideCall(bob, 'beta')).toBe('roots: ');
  });

  it("answer an empty list on a shared connection, showing no agent's roots", async () => {
    const carol = await t.h.connect('carol', withRoots('file:///carol'));
    expect(await rootsOutsideCall(carol, 'alpha')).toBe('roots: ');
  });
});
