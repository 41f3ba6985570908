import { describe, expect, it } from 'vitest';
import { addressAllowed, classifyAddress } from '../../../proxy/oauth/address-guard.ts';

describe('classifyAddress', () => {
  it.each([
    ['93.184.216.34', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'special-use'],
    ['10.1.2.3', 'special-use'],
    ['172.16.0.1', 'special-use'],
    ['192.168.1.1', 'special-use'],
    ['100.64.0.1', 'special-use'],
    ['0.0.0.0', 'special-use'],
    ['::', 'special-use'],
    ['fd00::1', 'special-use'],
    ['fe80::1', 'special-use'],
    ['::ffff:169.254.169.254', 'special-use'],
    ['::ffff:a9fe:a9fe', 'special-use'],
    ['224.0.0.1', 'special-use'],
    ['not-an-ip', 'invalid'],
  ])('%s is %s', (address, verdict) => {
    expect(classifyAddress(address)).toBe(verdict);
  });
});

describe('addressAllowed', () => {
  it('allows loopback only with the development setting, and never the metadata service', () => {
    expect(addressAllowed('127.0.0.1', false)).toBe(false);
    expect(addressAllowed('127.0.0.1', true)).toBe(true);
    expect(addressAllowed('169.254.169.254', true)).toBe(false);
    expect(addressAllowed('10.0.0.1', true)).toBe(false);
    expect(addressAllowed('8.8.8.8', false)).toBe(true);
  });
});
