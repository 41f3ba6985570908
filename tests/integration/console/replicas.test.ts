// The console behind two proxy replicas with no session affinity: a session begun on one replica is open on the
// other (sealed into its cookie with a key both derive from the fleet's keys), its CSRF token holds there too, a
// sign-out on a replica ends it there, and an altered cookie opens nothing on either.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigner } from '../../../auth/keys.ts';
import { consoleAudience, issueOperatorToken } from '../../../auth/operator.ts';
import { loadConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { writeKidFleet } from './kid-fleet.ts';

// The address a balancer would answer on; both replicas serve it (nothing listens there: requests go to each).
const front = 'http://127.0.0.1:9';
let dir: string;
let a: RunningProxy;
let b: RunningProxy;
let operatorToken: string;

beforeAll(async () => {
  let file: string;
  ({ dir, file } = await writeKidFleet({
    prefix: 'mcpcp-console-replicas-',
    subjects: ['alice'],
    proxy: `publicUrl: ${front}, replicas: 2`,
  }));
  const config = await loadConfig(file);
  const start = () => startProxy({ config, configFile: file, dataDir: dir, logger: createSilentLogger() });
  [a, b] = await Promise.all([start(), start()]);
  operatorToken = await issueOperatorToken(await loadSigner(join(dir, 'keys')), {
    issuer: a.urls.issuer,
    audience: consoleAudience(front),
    ttlSeconds: 600,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const get = (replica: RunningProxy, path: string, cookie: string) =>
  fetch(`${replica.url}${path}`, { headers: { cookie }, redirect: 'manual' });
const post = (replica: RunningProxy, path: string, form: Record<string, string>, cookie = '') =>
  fetch(`${replica.url}${path}`, {
    method: 'POST',
    headers: {
      origin: replica.url,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
      ...(cookie === '' ? {} : { cookie }),
    },
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
const csrfOf = async (replica: RunningProxy, cookie: string): Promise<string> =>
  /data-csrf="([^"]+)"/.exec(await (await get(replica, '/console/fleet', cookie)).text())?.[1] ?? '';

describe('the console on two replicas', () => {
  it('opens a session begun on one replica on the other, CSRF token included, until signed out there', async () => {
    const signedIn = await post(a, '/console/sign-in', { token: operatorToken });
    expect(signedIn.status).toBe(303);
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^mcpcp_console=/);
    expect(cookie).not.toContain(operatorToken);

    expect((await get(b, '/console/fleet', cookie)).status).toBe(200);
    expect((await get(a, '/console/fleet', cookie)).status).toBe(200);
    const csrf = await csrfOf(a, cookie);
    expect(csrf).not.toBe('');
    expect(await csrfOf(b, cookie)).toBe(csrf);

    // An altered cookie opens nothing on either replica.
    const altered = `${cookie.slice(0, -3)}${cookie.endsWith('A') ? 'B' : 'A'}xx`;
    expect((await get(a, '/console/fleet', altered)).status).toBe(401);
    expect((await get(b, '/console/fleet', altered)).status).toBe(401);

    // A wrong CSRF token is refused on b; the session's own is accepted there.
    expect((await post(b, '/console/sign-out', { _csrf: 'forged' }, cookie)).status).toBe(403);
    expect((await post(b, '/console/sign-out', { _csrf: csrf }, cookie)).status).toBe(303);
    expect((await get(b, '/console/fleet', cookie)).status).toBe(401);
  });
});
