// A deliberately thin MCP-over-HTTP client for load generation: node:http with keep-alive, hand-written
// JSON-RPC, JSON or SSE answers. The SDK client would spend the load generator's CPU (which shares the
// machine with the proxy) on validation we do not need here.
import { Agent, request } from 'node:http';

export const protocolVersion = '2025-11-25';
export const modernProtocolVersion = '2026-07-28';

/** The revision a session speaks: 2025-11-25 (initialize, a session) or 2026-07-28 (no session, `_meta`). */
export type FrontEra = 'legacy' | 'modern';

const modernEnvelope = {
  'io.modelcontextprotocol/protocolVersion': modernProtocolVersion,
  'io.modelcontextprotocol/clientInfo': { name: 'mcpcp-bench', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface RpcAnswer {
  status: number;
  sessionId: string | undefined;
  message: { id?: unknown; result?: unknown; error?: { code: number; message: string } } | undefined;
}

function parseBody(contentType: string, text: string): RpcAnswer['message'] {
  if (text === '') return undefined;
  if (contentType.includes('text/event-stream')) {
    // The answer is the data line carrying an id (notifications may precede it).
    for (const line of text.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '') continue;
      const message = JSON.parse(data) as NonNullable<RpcAnswer['message']>;
      if ('id' in message) return message;
    }
    return undefined;
  }
  return JSON.parse(text) as RpcAnswer['message'];
}

export function post(url: string, body: unknown, headers: Record<string, string>): Promise<RpcAnswer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': Buffer.byteLength(payload),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            const sessionHeader = res.headers['mcp-session-id'];
            resolve({
              status: res.statusCode ?? 0,
              sessionId: typeof sessionHeader === 'string' ? sessionHeader : undefined,
              message: parseBody(String(res.headers['content-type'] ?? ''), text),
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function del(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'DELETE', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

let nextId = 1;

/**
 * One MCP session (or, against a stateless server, just the negotiated headers). A 2026-07-28 one has no
 * session: each request carries the `_meta` envelope and names its method (and tool) in headers.
 */
export class BenchSession {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly modern: boolean;

  private constructor(url: string, headers: Record<string, string>, modern = false) {
    this.url = url;
    this.headers = headers;
    this.modern = modern;
  }

  static async open(url: string, token?: string, era: FrontEra = 'legacy'): Promise<BenchSession> {
    const base: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (era === 'modern')
      return new BenchSession(url, { ...base, 'mcp-protocol-version': modernProtocolVersion }, true);
    const init = await post(
      url,
      {
        jsonrpc: '2.0',
        id: nextId++,
        method: 'initialize',
        params: { protocolVersion, capabilities: {}, clientInfo: { name: 'mcpcp-bench', version: '1.0.0' } },
      },
      base,
    );
    if (init.status !== 200 || init.message?.error !== undefined) {
      throw new Error(`initialize failed: HTTP ${init.status} ${JSON.stringify(init.message)}`);
    }
    const headers: Record<string, string> = { ...base, 'mcp-protocol-version': protocolVersion };
    if (init.sessionId !== undefined) headers['mcp-session-id'] = init.sessionId;
    const ack = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`initialized failed: HTTP ${ack.status}`);
    return new BenchSession(url, headers);
  }

  async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    const answer = this.modern
      ? await post(
          this.url,
          { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: modernEnvelope } },
          {
            ...this.headers,
            'mcp-method': method,
            ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}),
          },
        )
      : await post(this.url, { jsonrpc: '2.0', id: nextId++, method, params }, this.headers);
    if (answer.status !== 200 || answer.message === undefined || answer.message.error !== undefined) {
      throw new Error(`${method} failed: HTTP ${answer.status} ${JSON.stringify(answer.message)}`);
    }
    return answer.message.result;
  }

  async close(): Promise<void> {
    if (this.headers['mcp-session-id'] !== undefined) await del(this.url, this.headers);
  }
}

export function destroyAgent(): void {
  agent.destroy();
}
