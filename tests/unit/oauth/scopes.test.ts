import { describe, expect, it } from 'vitest';
import { createStepUp } from '../../../proxy/oauth/scopes.ts';

const stepUp = createStepUp({
  'tools.echo': { description: 'echo', allow: ['*_echo'] },
  'tools.math': { description: 'math', allow: ['*_add', '*_sub'] },
  docs: { description: 'docs', allow: ['file:///docs/**'] },
});
const oauth = (scopes: string[]) => ({ scopes, claims: { mcpcp_grant: 'g1' } });

describe('createStepUp', () => {
  it('lets a call through when a granted scope covers its name', () => {
    expect(stepUp(oauth(['tools.echo']), 'tools/call', { name: 'alpha_echo' })).toBeUndefined();
  });
  it('names the scopes held plus the first that covers the call', () => {
    expect(stepUp(oauth(['tools.echo']), 'tools/call', { name: 'alpha_add' })).toEqual([
      'tools.echo',
      'tools.math',
    ]);
    expect(stepUp(oauth([]), 'resources/read', { uri: 'file:///docs/a/b.md' })).toEqual(['docs']);
  });
  it('fails closed on a name no scope covers, naming only what is held', () => {
    expect(stepUp(oauth(['tools.echo']), 'tools/call', { name: 'alpha_mul' })).toEqual(['tools.echo']);
  });
  it('leaves lists and other methods alone', () => {
    expect(stepUp(oauth([]), 'tools/list', {})).toBeUndefined();
    expect(stepUp(oauth([]), 'initialize', {})).toBeUndefined();
  });
  it('does not apply to tokens without a grant (operator-minted)', () => {
    expect(stepUp({ scopes: [], claims: {} }, 'tools/call', { name: 'alpha_add' })).toBeUndefined();
  });
});
