// Benchmark baseline: a bare node:http pipe proxy (no auth, no MCP, no policy) in its own process, forwarding
// every request to one target URL and piping the answer back. It is the floor any HTTP proxy pays (two more
// loopback hops, one more process), so bench/proxy.ts reports MCPCP against it as well as against direct.
//   node bench/pipe-proxy.ts <target-url>   (started with an IPC channel; answers {type:'stats'} with cpuUsage)
import { Agent, createServer, request } from 'node:http';
import { runBaseline } from './baseline-process.ts';

const target = new URL(process.argv[2] ?? '');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const server = createServer((req, res) => {
  const upstream = request(
    target,
    { method: req.method, headers: { ...req.headers, host: target.host }, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
runBaseline(server, target.pathname);
