// Benchmark child: one MCPCP proxy in its own process, so its CPU and memory can be measured apart from the
// load generator. Started with an IPC channel; answers {type:'stats'} with cpuUsage, RSS and session count.
//   node bench/proxy-process.ts <config.yaml>
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../lib/log.ts';
import { startProxy } from '../proxy/start.ts';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node bench/proxy-process.ts <config.yaml>');
  process.exit(2);
}
const config = await loadConfig(file);
const proxy = await startProxy({ config, logger: createLogger({ name: 'bench-proxy', level: 'info' }) });
const deadline = Date.now() + 30_000;
while (!proxy.gateway.isReady()) {
  if (Date.now() > deadline) {
    console.error('proxy not ready after 30 s', JSON.stringify(proxy.gateway.upstreamStates()));
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    globalThis.gc?.();
    process.send?.({
      type: 'stats',
      cpu: process.cpuUsage(),
      rss: process.memoryUsage().rss,
      heapUsed: process.memoryUsage().heapUsed,
      memory: process.memoryUsage(),
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
