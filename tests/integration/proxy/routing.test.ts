// Aggregation, naming, policy views and routing through the gateway, in both protocol eras.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childServer, startHarness, textOf, type Harness } from './harness.ts';

const yaml = `
servers:
${childServer('alpha')}
${childServer('beta', { args: ['--extra-tool', 'only_beta'] })}
policy:
  rules:
    - id: alice-all
      subjects: [alice]
      servers: ['*']
      allow: ['*', 'test://**']
      deny: ['beta_hang']
      arguments:
        alpha_echo: { message: { maxLength: 5 } }
    - id: bob-alpha-echo
      subjects: [bob]
      servers: [alpha]
      allow: ['alpha_echo', 'alpha_add']
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(yaml);
});
afterAll(async () => {
  await h?.close();
});

for (const era of ['legacy', 'modern'] as const) {
  describe(`routing (${era} era)`, () => {
    it('lists tools of every allowed child under namespaced names in config order', async () => {
      const client = await h.connect('alice', { era });
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toContain('alpha_echo');
      expect(names).toContain('beta_echo');
      expect(names).toContain('beta_only_beta');
      expect(names).not.toContain('beta_hang');
      expect(names.indexOf('alpha_echo')).toBeLessThan(names.indexOf('beta_echo'));
    });

    it('routes a call to the right child by its qualified name', async () => {
      const client = await h.connect('alice', { era });
      expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'hi' } }))).toBe(
        'alpha: hi',
      );
      expect(textOf(await client.callTool({ name: 'beta_echo', arguments: { message: 'yo' } }))).toBe(
        'beta: yo',
      );
    });

    it('passes a child isError result through unchanged', async () => {
      const client = await h.connect('alice', { era });
      const result = await client.callTool({ name: 'alpha_fail', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe('it failed');
    });

    it('shows two agents different tools', async () => {
      const bob = await h.connect('bob', { era });
      const { tools } = await bob.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['alpha_add', 'alpha_echo']);
    });

    it('answers a hidden tool exactly like an unknown tool', async () => {
      const bob = await h.connect('bob', { era });
      const hidden = await bob
        .callTool({ name: 'beta_echo', arguments: { message: 'x' } })
        .catch((e: unknown) => e);
      const unknown = await bob.callTool({ name: 'nope_nothing', arguments: {} }).catch((e: unknown) => e);
      expect((hidden as { code?: number }).code).toBe(-32602);
      expect((unknown as { code?: number }).code).toBe(-32602);
      expect((hidden as Error).message.replace('beta_echo', 'X')).toBe(
        (unknown as Error).message.replace('nope_nothing', 'X'),
      );
    });

    it('narrows the advertised schema and enforces argument constraints on calls', async () => {
      const alice = await h.connect('alice', { era });
      const { tools } = await alice.listTools();
      const echo = tools.find((t) => t.name === 'alpha_echo')!;
      expect((echo.inputSchema.properties as Record<string, { maxLength?: number }>).message?.maxLength).toBe(
        5,
      );
      const error = await alice.callTool({ name: 'alpha_echo', arguments: { message: 'far too long' } }).then(
        (r) => r,
        (e: unknown) => e,
      );
      // Either the SDK's own schema validation (isError) or the policy (-32602) refuses it; the child never sees it.
      const refused =
        (error as { isError?: boolean }).isError === true || (error as { code?: number }).code === -32602;
      expect(refused).toBe(true);
    });

    it('routes prompts and resources, including template URIs', async () => {
      const alice = await h.connect('alice', { era });
      const { prompts } = await alice.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(['alpha_greet', 'beta_greet']);
      const prompt = await alice.getPrompt({ name: 'beta_greet', arguments: { name: 'Ann' } });
      expect(JSON.stringify(prompt.messages)).toContain('Hello, Ann');
      const read = await alice.readResource({ uri: 'test://items/7' });
      expect(read.contents[0]).toMatchObject({ text: 'item 7' });
    });
  });
}

describe('completion', () => {
  it('routes completion/complete for a qualified prompt to its child, and hides hidden prompts', async () => {
    const alice = await h.connect('alice');
    const ref = { type: 'ref/prompt' as const, name: 'beta_greet' };
    const result = await alice.complete({ ref, argument: { name: 'name', value: 'A' } });
    expect(result.completion.values).toEqual(['Ada', 'Alan']);
    const bob = await h.connect('bob');
    const hidden = await bob
      .complete({ ref, argument: { name: 'name', value: 'A' } })
      .catch((e: unknown) => e);
    expect((hidden as { code?: number }).code).toBe(-32602);
  });
});

describe('audit events', () => {
  it('records one event per call with decision and outcome', async () => {
    const bob = await h.connect('bob');
    h.events.length = 0;
    await bob.callTool({ name: 'alpha_add', arguments: { a: 1, b: 2 } });
    await bob.callTool({ name: 'beta_echo', arguments: { message: 'x' } }).catch(() => undefined);
    expect(h.events).toEqual([
      expect.objectContaining({
        agent: 'bob',
        name: 'alpha_add',
        server: 'alpha',
        decision: 'allow',
        rule: 'bob-alpha-echo',
        outcome: 'ok',
      }),
      expect.objectContaining({ agent: 'bob', name: 'beta_echo', decision: 'deny', outcome: 'denied' }),
    ]);
  });
});
