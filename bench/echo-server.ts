// Benchmark child: N tiny MCP servers (Streamable HTTP, SDK v2, both eras, stateless legacy) in one process,
// each with an `echo` tool and a few others so tools/list has something to merge.
//   node bench/echo-server.ts [--count 4]
// Prints one line: {"event":"listening","urls":["http://127.0.0.1:PORT/mcp", …]}.
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const { values } = parseArgs({ options: { count: { type: 'string', default: '4' } } });
const count = Number(values.count);

function createEchoServer(index: number): McpServer {
  const server = new McpServer({ name: `bench-echo-${index}`, version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the message back', inputSchema: z.object({ message: z.string() }) },
    ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  for (const name of ['add', 'upper', 'reverse', 'length']) {
    server.registerTool(
      name,
      {
        description: `bench tool ${name}`,
        inputSchema: z.object({ text: z.string().optional(), a: z.number().optional() }),
      },
      () => ({ content: [{ type: 'text', text: name }] }),
    );
  }
  return server;
}

const urls = await Promise.all(
  Array.from({ length: count }, (_, index) => {
    const handler = createMcpHandler(() => createEchoServer(index));
    return new Promise<string>((resolve) => {
      serve(
        { fetch: (request) => handler.fetch(request), hostname: '127.0.0.1', port: 0 },
        (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}/mcp`),
      );
    });
  }),
);
console.log(JSON.stringify({ event: 'listening', urls }));
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
