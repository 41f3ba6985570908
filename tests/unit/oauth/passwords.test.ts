// The one password check behind both sign-in pages: a wrong password and an unknown name answer alike, failures are
// throttled per name and per address, and N proxy replicas each allow 1/N of the attempts, so together they never
// allow more than the configured number.
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../auth/password.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { createPasswordCheck } from '../../../proxy/oauth/passwords.ts';

const password = 'correct horse battery staple';
let oauth: NonNullable<ReturnType<typeof parseConfig>['oauth']>;

beforeAll(async () => {
  const hash = await hashPassword(password, { N: 1024, r: 8, p: 1 });
  oauth = parseConfig(
    `agents: { bob: {} }
oauth:
  loginRateLimit: { attempts: 4, windowSeconds: 600 }
  users:
    dave: { passwordHash: "${hash}", agents: [bob] }
`,
    'fleet.yaml',
    '/srv',
  ).oauth!;
});

const logger = createSilentLogger();

/** Failed attempts allowed before even the right password is refused with 429. */
async function failuresAllowed(replicas: number, address: string): Promise<number> {
  const check = createPasswordCheck({ oauth, logger, replicas });
  for (let failures = 0; failures < 10; failures += 1) {
    const right = await check.check('dave', password, address);
    if (!right.ok) return failures;
    const wrong = await check.check('dave', 'wrong', address);
    expect(wrong).toMatchObject({ ok: false, status: 401 });
  }
  return Infinity;
}

describe('the password check', () => {
  it('answers a wrong password and an unknown name alike, and the right one with the person', async () => {
    const check = createPasswordCheck({ oauth, logger });
    const wrong = await check.check('dave', 'nope', '10.0.0.1');
    const unknown = await check.check('mallory', password, '10.0.0.2');
    expect(wrong).toEqual(unknown);
    expect(wrong).toEqual({ ok: false, status: 401, message: 'Wrong user name or password.' });
    expect(await check.check('dave', password, '10.0.0.3')).toMatchObject({
      ok: true,
      user: 'dave',
      person: { agents: ['bob'] },
    });
  });

  it('throttles failures: the configured number on one proxy, a share of it on each of N replicas', async () => {
    expect(await failuresAllowed(1, '10.0.1.1')).toBe(4);
    expect(await failuresAllowed(2, '10.0.1.2')).toBe(2);
    expect(await failuresAllowed(4, '10.0.1.3')).toBe(1);
    const check = createPasswordCheck({ oauth, logger, replicas: 2 });
    await check.check('dave', 'wrong', '10.0.2.1');
    await check.check('dave', 'wrong', '10.0.2.1');
    expect(await check.check('dave', password, '10.0.2.1')).toMatchObject({
      ok: false,
      status: 429,
      retryAfterSeconds: expect.any(Number) as number,
    });
  });
});
