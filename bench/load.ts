// Load phases of bench/proxy.ts: sessions opened in batches, calls from each session back to back, and
// the latency percentiles of a phase.
import { BenchSession, type FrontEra } from './mcp-http-client.ts';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface LoadResult {
  calls: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

export async function load(sessions: BenchSession[], tool: string, ms: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await session.call('tools/call', { name: tool, arguments: { message: 'hello' } });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export async function openMany(
  url: string,
  token: string | undefined,
  n: number,
  era: FrontEra = 'legacy',
  batch = 32,
): Promise<BenchSession[]> {
  const out: BenchSession[] = [];
  while (out.length < n) {
    const size = Math.min(batch, n - out.length);
    out.push(...(await Promise.all(Array.from({ length: size }, () => BenchSession.open(url, token, era)))));
  }
  return out;
}

export async function freshSession(
  url: string,
  token: string | undefined,
  tool: string,
  era: FrontEra = 'legacy',
): Promise<number> {
  const t0 = performance.now();
  const session = await BenchSession.open(url, token, era);
  await session.call('tools/call', { name: tool, arguments: { message: 'hello' } });
  const elapsed = performance.now() - t0;
  await session.close();
  return elapsed;
}
