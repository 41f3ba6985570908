// Benchmark child: one MCPCP proxy in its own process, so its CPU and memory can be measured apart from the
// load generator. Started with an IPC channel; answers {type:'stats'} with cpuUsage, RSS and session count.
//   node bench/proxy-process.ts <config.yaml>
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { loadConfig } from '../config/load.ts';
import { AUDIT_BUFFER_BYTES, createLogger } from '../lib/log.ts';
import { startProxy } from '../proxy/start.ts';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node bench/proxy-process.ts <config.yaml>');
  process.exit(2);
}
const config = await loadConfig(file);
const proxy = await startProxy({
  config,
  logger: createLogger({ name: 'bench-proxy', level: 'info', bufferBytes: AUDIT_BUFFER_BYTES }),
});
const deadline = Date.now() + 30_000;
while (!proxy.gateway.isReady()) {
  if (Date.now() > deadline) {
    console.error('proxy not ready after 30 s', JSON.stringify(proxy.gateway.upstreamStates()));
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

// Time spent in GC pauses, to tell heap-sizing effects from the shared machine's noise in CPU per call.
const gc = { ms: 0, count: 0, minorMs: 0, minor: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.ms += entry.duration;
    gc.count++;
    const { detail } = entry as { detail?: { kind?: number } };
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minorMs += entry.duration;
      gc.minor++;
    }
  }
}).observe({ entryTypes: ['gc'] });

/** Linux: RSS split into anonymous memory (heaps, buffers) and file pages (mostly Node's own binary), in KiB. */
function rssParts(): Record<string, number> | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return undefined;
  }
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    globalThis.gc?.();
    process.send?.({
      type: 'stats',
      cpu: process.cpuUsage(),
      gc: { ...gc },
      rss: process.memoryUsage().rss,
      heapUsed: process.memoryUsage().heapUsed,
      memory: process.memoryUsage(),
      rssParts: rssParts(),
      // Where heapTotal goes (new space = young generation, old space = live objects + slack).
      spaces: Object.fromEntries(
        getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 2 ** 10)]),
      ),
      // Node's type stripper (amaro, ~17 MB) loads only on a compile cache miss (launcher/bin/start-up.js).
      typeStripperLoaded: (process as { moduleLoadList?: string[] }).moduleLoadList?.some((m) =>
        m.includes('amaro'),
      ),
      sessions: proxy.gateway.sessionCount(),
    });
  }
});
const stop = () => void proxy.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send?.({
  type: 'listening',
  url: proxy.url,
  mcpUrl: proxy.mcpUrl,
  resource: proxy.urls.resource,
  issuer: proxy.urls.issuer,
});
