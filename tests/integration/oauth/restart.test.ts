// The authorization server's state lives in SQLite: a restarted proxy keeps every client, grant and refresh
// token, and the signing key, so a client refreshes after the restart as if nothing happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { rm } from 'node:fs/promises';
import { obtainTokens, pingWith, startDeployment, tokenRequest, type Deployment } from './harness.ts';

let first: Deployment | undefined;
let second: Deployment | undefined;
let dir: string;

beforeAll(async () => {
  first = await startDeployment();
  dir = first.dir;
});
afterAll(async () => {
  await first?.stop();
  await second?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('a restart', () => {
  it('keeps grants, clients and refresh tokens', async () => {
    const tokens = await obtainTokens(first!, 'bob');
    // The same folder and URL.
    const port = first!.proxy.port;
    await first!.stop();
    first = undefined;
    second = await startDeployment({ dir, port });
    const refreshed = await tokenRequest(second, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh,
      client_id: tokens.clientId,
      resource: second.proxy.urls.resource,
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(String(refreshed.body.access_token)).sub).toBe('bob');
    expect((await pingWith(second, String(refreshed.body.access_token))).status).toBe(200);
  });
});
