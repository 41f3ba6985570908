// Per-agent and per-tool call rates from the proxy's own metrics (the `mcpcp_calls_total` counter, sampled every few
// seconds into a short ring), and per-agent and per-tool latencies from the audit events the activity feed holds
// (the metrics' duration histogram is labelled by method only). Pure arithmetic over samples; the timer is unref'd.
import type { Registry } from 'prom-client';
import type { ActivityEvent } from './activity-feed.ts';

export interface RateSeries {
  readonly key: string;
  /** Calls per minute in each interval, oldest first. */
  readonly perMinute: readonly number[];
  readonly total: number;
}

export interface RateSampler {
  byAgent(): RateSeries[];
  byTool(): RateSeries[];
  /** Take a sample now (tests; the timer does it otherwise). */
  sample(): Promise<void>;
  close(): void;
}

type Snapshot = { at: number; agent: Map<string, number>; tool: Map<string, number> };

export function createRateSampler(options: {
  registry: Registry;
  intervalMs?: number;
  keep?: number;
  now?: () => number;
}): RateSampler {
  const intervalMs = options.intervalMs ?? 5_000;
  const keep = options.keep ?? 60;
  const now = options.now ?? Date.now;
  const snapshots: Snapshot[] = [];

  async function sample(): Promise<void> {
    const metric = options.registry.getSingleMetric('mcpcp_calls_total');
    const agent = new Map<string, number>();
    const tool = new Map<string, number>();
    if (metric !== undefined) {
      for (const value of (await metric.get()).values) {
        const labels = value.labels as Record<string, string | number | undefined>;
        const add = (map: Map<string, number>, key: unknown) => {
          if (typeof key === 'string') map.set(key, (map.get(key) ?? 0) + value.value);
        };
        add(agent, labels.agent);
        add(tool, labels.name);
      }
    }
    snapshots.push({ at: now(), agent, tool });
    if (snapshots.length > keep + 1) snapshots.shift();
  }

  function series(pick: (s: Snapshot) => Map<string, number>): RateSeries[] {
    const keys = new Set(snapshots.flatMap((s) => [...pick(s).keys()]));
    return [...keys]
      .map((key) => {
        const perMinute: number[] = [];
        for (let i = 1; i < snapshots.length; i += 1) {
          const before = snapshots[i - 1]!;
          const after = snapshots[i]!;
          const delta = (pick(after).get(key) ?? 0) - (pick(before).get(key) ?? 0);
          perMinute.push(Math.max(0, delta) * (60_000 / Math.max(1, after.at - before.at)));
        }
        return { key, perMinute, total: pick(snapshots.at(-1)!).get(key) ?? 0 };
      })
      .sort((a, b) => b.total - a.total);
  }

  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  void sample();
  return {
    byAgent: () => series((s) => s.agent),
    byTool: () => series((s) => s.tool),
    sample,
    close: () => clearInterval(timer),
  };
}

export interface LatencyRow {
  readonly key: string;
  readonly calls: number;
  readonly p50: number;
  readonly p95: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** p50 and p95 of durationMs per agent or per name over the feed's recent events. */
export function latencies(events: readonly ActivityEvent[], by: 'agent' | 'name'): LatencyRow[] {
  const groups = new Map<string, number[]>();
  for (const event of events) {
    const key = event[by];
    if (key === '') continue;
    const list = groups.get(key) ?? [];
    list.push(event.durationMs);
    groups.set(key, list);
  }
  return [...groups]
    .map(([key, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { key, calls: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
    })
    .sort((a, b) => b.calls - a.calls);
}
