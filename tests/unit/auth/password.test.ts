import { describe, expect, it } from 'vitest';
import { hashPassword, scryptParamsOf, verifyPassword } from '../../../auth/password.ts';

const fast = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse', fast);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct hors', hash)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('correct horse', fast)).not.toBe(await hashPassword('correct horse', fast));
  });

  it('refuses short passwords', async () => {
    await expect(hashPassword('short', fast)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('treats malformed or absurdly expensive hashes as a mismatch', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(await verifyPassword('x', `scrypt$1073741824$8$1$${'a'.repeat(22)}$${'b'.repeat(43)}`)).toBe(
      false,
    );
  });

  it('reads the parameters of a stored hash, defaulting when malformed', () => {
    expect(scryptParamsOf('scrypt$2048$8$2$salt$hash')).toEqual({ N: 2048, r: 8, p: 2 });
    expect(scryptParamsOf(undefined).N).toBe(131072);
  });
});
