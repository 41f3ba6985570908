import { describe, expect, it } from 'vitest';
import { qualifyName } from '../../../proxy/names.ts';

const valid = /^[a-zA-Z0-9_-]{1,64}$/;

describe('qualifyName', () => {
  it('joins namespace and name with an underscore', () => {
    expect(qualifyName('everything', 'echo')).toBe('everything_echo');
  });

  it('leaves names unchanged for the empty namespace', () => {
    expect(qualifyName('', 'test_simple_text')).toBe('test_simple_text');
  });

  it('shortens long names deterministically to a readable stem plus a hash', () => {
    const long = 'x'.repeat(80);
    const a = qualifyName('ns', long);
    expect(a).toMatch(valid);
    expect(a).toHaveLength(64);
    expect(a.startsWith('ns_xxxx')).toBe(true);
    expect(qualifyName('ns', long)).toBe(a);
    expect(qualifyName('ns', `${'x'.repeat(79)}y`)).not.toBe(a);
  });

  it('replaces characters outside the allowed set and keeps different inputs apart', () => {
    const dotted = qualifyName('fs', 'read.file');
    const underscored = qualifyName('fs', 'read_file');
    expect(dotted).toMatch(valid);
    expect(dotted.startsWith('fs_read_file_')).toBe(true);
    expect(dotted).not.toBe(underscored);
  });

  it('never returns an empty or invalid name', () => {
    for (const [ns, name] of [
      ['', ''],
      ['', '...'],
      ['a', '日本語'],
      ['', 'x'.repeat(200)],
    ] as const) {
      expect(qualifyName(ns, name)).toMatch(valid);
    }
  });
});
