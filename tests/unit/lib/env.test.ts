import { describe, expect, it } from 'vitest';
import { pickChildEnv, readRuntimeEnv } from '../../../lib/env.ts';
import { McpcpError, isMcpcpError } from '../../../lib/errors.ts';

describe('pickChildEnv', () => {
  it('passes only allow-listed variables plus the configured extras', () => {
    const env = pickChildEnv({ FOO: 'bar' }, { PATH: '/bin', SECRET_TOKEN: 'x', HOME: '/root' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/root', FOO: 'bar' });
  });
});

describe('readRuntimeEnv', () => {
  it('returns a frozen object with defaults', () => {
    const env = readRuntimeEnv({});
    expect(env.home).toBe('.mcpcp');
    expect(Object.isFrozen(env)).toBe(true);
  });
});

describe('McpcpError', () => {
  it('carries a stable code and its cause', () => {
    const cause = new Error('inner');
    const error = new McpcpError('ERR_CONFIG_INVALID', 'bad', { cause });
    expect(isMcpcpError(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(isMcpcpError(error, 'ERR_TOKEN_INVALID')).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
