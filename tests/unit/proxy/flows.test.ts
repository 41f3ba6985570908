import { describe, expect, it } from 'vitest';
import { createFlowStore } from '../../../proxy/gateway/flows.ts';

describe('input_required flows', () => {
  it('hands child requests out in rounds and resolves them with the answers', async () => {
    const store = createFlowStore({ ttlMs: 5_000 });
    const flow = store.start('alice', async (f) => {
      const answer = await f.ask(
        { method: 'elicitation/create', params: { message: 'name?' } },
        new AbortController().signal,
      );
      return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
    });
    const first = await flow.next(new AbortController().signal);
    expect(first.kind).toBe('input');
    const keys = first.kind === 'input' ? Object.keys(first.requests) : [];
    expect(keys).toHaveLength(1);
    expect(store.resume(flow.id, 'alice')).toBe(flow);
    flow.answer({ [keys[0]!]: { action: 'accept', content: { name: 'Ada' } } });
    const second = await flow.next(new AbortController().signal);
    expect(second).toEqual({
      kind: 'result',
      result: { content: [{ type: 'text', text: '{"action":"accept","content":{"name":"Ada"}}' }] },
    });
    store.close();
  });

  it('is bound to the agent that started it', () => {
    const store = createFlowStore({ ttlMs: 5_000 });
    const flow = store.start('alice', () => new Promise(() => undefined));
    expect(store.resume(flow.id, 'mallory')).toBeUndefined();
    store.close();
  });

  it('aborts the upstream call when a flow is not resumed in time', async () => {
    const store = createFlowStore({ ttlMs: 30 });
    let aborted = false;
    const flow = store.start('alice', (f) => {
      f.abort.signal.addEventListener('abort', () => (aborted = true));
      return f.ask({ method: 'roots/list' }, f.abort.signal);
    });
    await flow.next(new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(aborted).toBe(true);
    expect(store.resume(flow.id, 'alice')).toBeUndefined();
  });
});
