// Benchmark baseline: the floor of an MCP-aware proxy that does MCPCP's per-call duties by hand, with no
// MCP SDK and no framework. node:http in and out (keep-alive); the bearer token looked up in a cache; the
// body parsed; a qualified tool name checked against an allow set and rewritten to the child's name; the
// answer parsed and serialised again; one pino audit line and two prom-client metrics per call. Not a
// product and not a proxy anyone should run: it knows one child and `tools/call`, passes every other
// message through untouched, and decodes (does not verify) a token the first time it sees it. It tells
// how much of MCPCP's CPU per call any Node MCP proxy would pay on the machine at hand.
//   node bench/mcp-floor-proxy.ts <target-url> <namespace>   (IPC: {type:'stats'} answers cpuUsage)
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { runBaseline } from './baseline-process.ts';
import { decodeJwt } from 'jose';
import { Counter, Histogram, Registry } from 'prom-client';
import { AUDIT_BUFFER_BYTES, createLogger } from '../lib/log.ts';

const target = new URL(process.argv[2] ?? '');
const namespace = process.argv[3] ?? 'e1';
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const audit = createLogger({ name: 'floor', bufferBytes: AUDIT_BUFFER_BYTES }).child(
  { component: 'audit' },
  { redact: [] },
);
const registry = new Registry();
const calls = new Counter({
  name: 'floor_calls_total',
  help: 'calls',
  labelNames: ['agent', 'name', 'outcome'] as const,
  registers: [registry],
});
const duration = new Histogram({
  name: 'floor_call_seconds',
  help: 'call duration',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
const tokens = new Map<string, { agent: string; exp: number }>();
const allowed = new Set([`${namespace}_echo`]);
const passHeaders = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'mcp-method'];

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

const server = createServer((req, res) => {
  void (async () => {
    const started = performance.now();
    const header = req.headers.authorization ?? '';
    let who = tokens.get(header);
    if (who === undefined && header.startsWith('Bearer ')) {
      const claims = decodeJwt(header.slice(7));
      who = { agent: String(claims.sub), exp: Number(claims.exp) };
      tokens.set(header, who);
    }
    if (who === undefined || who.exp * 1000 < Date.now()) return void res.writeHead(401).end();
    let body = await readBody(req);
    const message = JSON.parse(body.toString('utf8')) as {
      id?: unknown;
      method?: string;
      params?: { name?: string };
    };
    const name = message.method === 'tools/call' ? message.params?.name : undefined;
    if (name !== undefined) {
      if (!allowed.has(name)) return void res.writeHead(404).end();
      body = Buffer.from(
        JSON.stringify({ ...message, params: { ...message.params, name: name.slice(namespace.length + 1) } }),
      );
    }
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    for (const key of passHeaders) {
      const value = req.headers[key];
      if (typeof value === 'string') headers[key] = value;
    }
    // A 2026-07-28 request names its tool in a header too: the child's name, as in the body.
    if (name !== undefined && typeof req.headers['mcp-name'] === 'string')
      headers['mcp-name'] = name.slice(namespace.length + 1);
    const upstream = request(target, { method: req.method, headers, agent }, (answer) => {
      void readBody(answer).then((raw) => {
        const type = answer.headers['content-type'] ?? '';
        const out = type.startsWith('application/json')
          ? Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))))
          : raw;
        const outHeaders: Record<string, string> = { 'content-length': String(out.length) };
        for (const key of ['content-type', 'mcp-session-id']) {
          const value = answer.headers[key];
          if (typeof value === 'string') outHeaders[key] = value;
        }
        res.writeHead(answer.statusCode ?? 502, outHeaders).end(out);
        if (name !== undefined) {
          const ms = performance.now() - started;
          audit.info(
            { event: 'call', agent: who.agent, name, decision: 'allow', durationMs: ms, outcome: 'ok' },
            'call',
          );
          calls.inc({ agent: who.agent, name, outcome: 'ok' });
          duration.observe({ outcome: 'ok' }, ms / 1000);
        }
      });
    });
    upstream.on('error', () => res.writeHead(502).end());
    upstream.end(body);
  })().catch(() => res.writeHead(500).end());
});
runBaseline(server, target.pathname);
