// Signing in to the console with a name and password from oauth.users, against a real proxy with its authorization
// server: an operator person opens the whole console, anyone else the channels of one of their own agents; a wrong
// password and an unknown name read the same and open nothing; failures are throttled with the authorization
// server's own check, and a cross-site sign-in is refused.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../auth/password.ts';
import { loadConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { writeKidFleet } from './kid-fleet.ts';

const password = 'correct horse battery staple';
let dir: string;
let proxy: RunningProxy;

beforeAll(async () => {
  // Cheap scrypt parameters: the tests need not spend seconds per sign-in.
  const hash = await hashPassword(password, { N: 1024, r: 8, p: 1 });
  let file: string;
  ({ dir, file } = await writeKidFleet({
    prefix: 'mcpcp-console-pw-',
    subjects: ['alice', 'bob'],
    extra: `oauth:
  store: oauth.db
  loginRateLimit: { attempts: 3, windowSeconds: 600 }
  users:
    carol: { passwordHash: "${hash}", agents: [alice, bob], operator: true }
    dave: { passwordHash: "${hash}", agents: [bob] }
`,
  }));
  proxy = await startProxy({
    config: await loadConfig(file),
    configFile: file,
    dataDir: dir,
    logger: createSilentLogger(),
  });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function signIn(fields: Record<string, string>, origin = proxy.url) {
  const response = await fetch(`${proxy.url}/console/sign-in`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { response, cookie, text: await response.text() };
}

const statusOf = async (path: string, cookie: string): Promise<number> =>
  (await fetch(`${proxy.url}${path}`, { headers: { cookie }, redirect: 'manual' })).status;

describe('console sign-in by password', () => {
  it('offers the password form beside the token form', async () => {
    const html = await (await fetch(`${proxy.url}/console/sign-in`)).text();
    expect(html).toContain('name="token"');
    expect(html).toContain('name="password"');
    expect(html).toContain('autocomplete="current-password"');
  });

  it('opens the whole console to an operator person, and only channels when they choose an agent', async () => {
    const operator = await signIn({ user: 'carol', password });
    expect(operator.response.status).toBe(303);
    expect(operator.response.headers.get('location')).toBe('/console/fleet');
    expect(operator.response.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(await statusOf('/console/fleet', operator.cookie)).toBe(200);
    expect(await statusOf('/console/tools', operator.cookie)).toBe(200);

    const asAlice = await signIn({ user: 'carol', password, agent: 'alice' });
    expect(asAlice.response.headers.get('location')).toBe('/console/channels');
    expect(await statusOf('/console/channels', asAlice.cookie)).toBe(200);
    expect(await statusOf('/console/fleet', asAlice.cookie)).toBe(403);
  });

  it('gives anyone else the channels of their own agent, and never another agent', async () => {
    const dave = await signIn({ user: 'dave', password });
    expect(dave.response.headers.get('location')).toBe('/console/channels');
    const channels = await fetch(`${proxy.url}/console/channels`, { headers: { cookie: dave.cookie } });
    expect(channels.status).toBe(200);
    expect(await channels.text()).toContain('bob');
    expect(await statusOf('/console/fleet', dave.cookie)).toBe(403);

    const notHis = await signIn({ user: 'dave', password, agent: 'alice' });
    expect(notHis.response.status).toBe(400);
    expect(notHis.response.headers.get('set-cookie')).toBeNull();
    expect(notHis.text).toContain('Choose one of your agents: bob.');
  });

  it('refuses a cross-site password sign-in', async () => {
    const cross = await signIn({ user: 'carol', password }, 'https://evil.example');
    expect(cross.response.status).toBe(403);
    expect(cross.response.headers.get('set-cookie')).toBeNull();
  });

  it('answers a wrong password and an unknown name alike, and throttles failures', async () => {
    const wrong = await signIn({ user: 'dave', password: 'nope' });
    const unknown = await signIn({ user: 'mallory', password });
    for (const refused of [wrong, unknown]) {
      expect(refused.response.status).toBe(401);
      expect(refused.response.headers.get('set-cookie')).toBeNull();
      expect(refused.text).toContain('Wrong user name or password.');
      expect(refused.text).not.toContain('nope');
    }
    // The third failure uses up this address's attempts: then even the right password waits.
    expect((await signIn({ user: 'dave', password: 'still wrong' })).response.status).toBe(401);
    const throttled = await signIn({ user: 'dave', password });
    expect(throttled.response.status).toBe(429);
    expect(Number(throttled.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.response.headers.get('set-cookie')).toBeNull();
  });
});
