import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../../proxy/oauth/client-hosts.ts';

describe('hostAllowed', () => {
  it('allows any host without a list', () => {
    expect(hostAllowed('client.example', undefined)).toBe(true);
  });
  it('matches exact names and *.subdomains, case-insensitively', () => {
    const list = ['claude.ai', '*.openai.com'];
    expect(hostAllowed('Claude.AI', list)).toBe(true);
    expect(hostAllowed('chatgpt.openai.com', list)).toBe(true);
    expect(hostAllowed('openai.com', list)).toBe(false);
    expect(hostAllowed('evilclaude.ai', list)).toBe(false);
    expect(hostAllowed('claude.ai.evil.example', list)).toBe(false);
  });
});
