// What every baseline proxy process of bench/proxy.ts shares (bench/pipe-proxy.ts, bench/mcp-floor-proxy.ts):
// listen on loopback port 0 and report the URL over IPC, answer {type:'stats'} with cpuUsage, and exit
// when the bench goes away.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function runBaseline(server: Server, pathname: string): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.send?.({ type: 'listening', url: `http://127.0.0.1:${port}${pathname}` });
  });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') process.send?.({ type: 'stats', cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
