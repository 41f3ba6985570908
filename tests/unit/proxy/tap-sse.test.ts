// tapSse notes every JSON-RPC message of a child's SSE answer for attribution, reading SSE as the SDK reads
// it (eventsource-parser), and passes the bytes through unchanged.
import { describe, expect, it } from 'vitest';
import { tapSse } from '../../../proxy/upstreams/attribution.ts';

async function tap(chunks: readonly string[]): Promise<{ seen: unknown[]; passed: string }> {
  const encoder = new TextEncoder();
  const seen: unknown[] = [];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  const passed = await new Response(tapSse(body, (m) => seen.push(m))).text();
  return { seen, passed };
}

describe('tapSse', () => {
  it('notes message events, passing every byte through unchanged', async () => {
    const chunks = ['event: message\ndata: {"a":1}\n\n', 'data: {"b":2}\n\n'];
    const { seen, passed } = await tap(chunks);
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
    expect(passed).toBe(chunks.join(''));
  });

  it('reads a CR LF split across chunks, and data spread over several lines', async () => {
    const { seen } = await tap(['data: {"a":\r', '\ndata: 1}\r', '\n\r\n']);
    expect(seen).toEqual([{ a: 1 }]);
  });

  it('ignores events of another type, as the SDK does, and what is not JSON', async () => {
    const { seen } = await tap(['event: ping\ndata: {"no":1}\n\n', 'data: not json\n\n', ': comment\n\n']);
    expect(seen).toEqual([]);
  });
});
