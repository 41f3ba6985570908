// The one check of a person's password, for every page that asks for one (the authorization server's sign-in and
// the console's): throttled per user name and per address (failures only), and an unknown user costs as much as a
// wrong password and reads the same. One instance per proxy, so both pages draw on the same attempts.
// It must not know about HTTP or pages.
import { decoyHash, scryptParamsOf, verifyPassword } from '../../auth/password.ts';
import type { OAuthConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/log.ts';
import { createLoginThrottle } from './login-throttle.ts';

export type Person = OAuthConfig['users'][string];

export type PasswordVerdict =
  | { ok: true; user: string; person: Person }
  | { ok: false; status: 401; message: string }
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

export interface PasswordCheck {
  check(user: string, password: string, address: string | undefined): Promise<PasswordVerdict>;
}

export function createPasswordCheck(options: {
  oauth: OAuthConfig;
  logger: Logger;
  /** Proxy replicas: each allows 1/replicas of the failed attempts, so together they allow the configured number. */
  replicas?: number;
  now?: (() => number) | undefined;
}): PasswordCheck {
  const { oauth } = options;
  const log = options.logger.child({ component: 'oauth' });
  const throttle = createLoginThrottle({
    ...oauth.loginRateLimit,
    replicas: options.replicas ?? 1,
    now: options.now,
  });
  // Made on first need: checked against when the user is unknown, so both refusals take as long.
  // With the first user's scrypt parameters, so that it costs what a real check costs.
  let decoy: Promise<string> | undefined;
  const decoyParams = scryptParamsOf(Object.values(oauth.users)[0]?.passwordHash);

  return {
    async check(user, password, address) {
      const userKey = `user:${user.toLowerCase()}`;
      const addressKey = `address:${address ?? 'unknown'}`;
      const wait = Math.max(throttle.waitSeconds(userKey), throttle.waitSeconds(addressKey));
      if (wait > 0) {
        log.warn({ user, address }, 'sign-in rate limited');
        return {
          ok: false,
          status: 429,
          message: `Too many attempts. Try again in ${wait} seconds.`,
          retryAfterSeconds: wait,
        };
      }
      const person = Object.hasOwn(oauth.users, user) ? oauth.users[user] : undefined;
      const ok =
        person === undefined
          ? (await verifyPassword(password, await (decoy ??= decoyHash(decoyParams))), false)
          : await verifyPassword(password, person.passwordHash);
      if (!ok || person === undefined) {
        throttle.fail(userKey);
        throttle.fail(addressKey);
        log.warn({ user, address, known: person !== undefined }, 'sign-in refused');
        return { ok: false, status: 401, message: 'Wrong user name or password.' };
      }
      log.info({ user }, 'signed in');
      return { ok: true, user, person };
    },
  };
}
