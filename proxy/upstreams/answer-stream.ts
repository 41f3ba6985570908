// Reading a call's answer from a child: SSE (readAnswerStream) and JSON (readJsonAnswer). An SSE answer
// is read as the SDK's transport reads one: every event id is a resumption token, each `message` event is
// one JSON-RPC message, and a stream that ends (or breaks) after an event id but before the response is
// resumed (the transport asks the SDK's own reconnection: GET with Last-Event-ID). Like the SDK's reader, it runs on after the request's send has returned. Unlike it, a
// stream that ends without the response and cannot be resumed answers the call with an error at once,
// and an unterminated line or event is bounded. Used by proxy/upstreams/child-http-transport.ts.
import { parseJSONRPCMessage, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { createParser } from 'eventsource-parser';
import { createJsonLinesParser } from './json-lines.ts';
import type { LoopbackAnswer } from './loopback-fetch.ts';
import { rpcCodes } from '../../lib/wire-errors.ts';

/** Bounds an SSE answer's unterminated line or event (the SDK's own parser is unbounded). */
const maxSseBuffer = 32 * 2 ** 20;

/** A JSON-RPC response in the shape the SDK's schema accepts; anything else gets the full schema. */
export function isPlainResponse(value: unknown): value is JSONRPCMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0' || 'method' in m) return false;
  if (typeof m.id !== 'string' && typeof m.id !== 'number') return false;
  const result = m.result;
  return result !== null && typeof result === 'object' && !Array.isArray(result) && !('error' in m);
}

export interface AnswerStreamHooks {
  /** Hands one message on (the transport's onmessage). */
  deliver(message: JSONRPCMessage): void;
  error(error: Error): void;
  /** Hears every message before it is delivered (attribution of a child's mid-call messages). */
  note?: ((message: unknown) => void) | undefined;
  /** Whether the stream ended because the proxy aborted it (the call was cancelled, the transport closed). */
  intentional(): boolean;
  /** The child's `retry:` field. */
  retryMs(ms: number): void;
  /** Resumes after `lastEventId`; false when the transport cannot. */
  resume(lastEventId: string): boolean;
  onresumptiontoken?: ((token: string) => void) | undefined;
  onRequestStreamEnd?: (() => void) | undefined;
}

export function readAnswerStream(
  answer: LoopbackAnswer,
  id: string | number,
  hooks: AnswerStreamHooks,
): void {
  const { res, done } = answer;
  let lastEventId: string | undefined;
  let responded = false;
  const parser = createParser({
    maxBufferSize: maxSseBuffer,
    onRetry: (ms) => hooks.retryMs(ms),
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') res.destroy(error);
    },
    onEvent: (event) => {
      if (event.id) {
        lastEventId = event.id;
        hooks.onresumptiontoken?.(event.id);
      }
      if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
      try {
        const parsed: unknown = JSON.parse(event.data);
        const message = isPlainResponse(parsed) ? parsed : parseJSONRPCMessage(parsed);
        if (!('method' in message)) responded = true;
        hooks.note?.(message);
        hooks.deliver(message);
      } catch (error) {
        hooks.error(error instanceof Error ? error : new Error(String(error)));
      }
    },
  });
  const decoder = new TextDecoder();
  let finished = false;
  const finish = (error?: Error): void => {
    if (finished) return;
    finished = true;
    done();
    if (hooks.intentional()) return;
    if (error !== undefined) hooks.error(new Error(`SSE stream disconnected: ${error.message}`));
    if (lastEventId !== undefined && !responded && hooks.resume(lastEventId)) return;
    // Not resumable: the answer is lost for good (a child answers on the call's own stream only), so the
    // call fails now with a clear error instead of waiting out its timeout.
    if (!responded) {
      hooks.deliver({
        jsonrpc: '2.0',
        id,
        error: {
          code: rpcCodes.internalError,
          message: `The child ended its answer stream without answering${error === undefined ? '' : ` (${error.message})`}`,
        },
      });
    }
    hooks.onRequestStreamEnd?.();
  };
  res.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })));
  res.once('end', () => finish());
  res.once('error', (error) => finish(error));
  // A socket torn down mid-stream (the child died) closes without 'end'.
  res.once('close', () => finish(res.readableEnded ? undefined : new Error('the child closed the stream')));
}

export interface JsonAnswerHooks {
  deliver(message: JSONRPCMessage): void;
  note?: ((message: unknown) => void) | undefined;
  /** Whether the answer ended because the proxy aborted it. */
  intentional(): boolean;
}

/**
 * Reading a call's `application/json` answer: one JSON document, or newline-delimited ones (json-lines.ts)
 * delivered as each line ends. An answer that ends without the response, or is not JSON, answers the call
 * with an error naming what was wrong, at once.
 */
export function readJsonAnswer(answer: LoopbackAnswer, id: string | number, hooks: JsonAnswerHooks): void {
  const { res, done } = answer;
  let responded = false;
  let failure: Error | undefined;
  const parser = createJsonLinesParser((parsed) => {
    const message = isPlainResponse(parsed) ? parsed : parseJSONRPCMessage(parsed);
    if (!('method' in message)) responded = true;
    hooks.note?.(message);
    hooks.deliver(message);
  });
  const decoder = new TextDecoder();
  let finished = false;
  const finish = (error?: Error): void => {
    if (finished) return;
    finished = true;
    done();
    if (hooks.intentional()) return;
    if (error === undefined && failure === undefined) {
      try {
        parser.end();
      } catch (thrown) {
        failure = thrown instanceof Error ? thrown : new Error(String(thrown));
      }
    }
    if (responded) return;
    const why = failure ?? error;
    hooks.deliver({
      jsonrpc: '2.0',
      id,
      error: {
        code: -32603,
        message:
          failure !== undefined
            ? `The child's answer is not valid JSON-RPC: ${failure.message}`
            : `The child ended its answer without answering${why === undefined ? '' : ` (${why.message})`}`,
      },
    });
  };
  res.on('data', (chunk: Buffer) => {
    if (failure !== undefined) return;
    try {
      parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (thrown) {
      failure = thrown instanceof Error ? thrown : new Error(String(thrown));
      res.destroy();
    }
  });
  res.once('end', () => finish());
  res.once('error', (error) => finish(error));
  res.once('close', () => finish(res.readableEnded ? undefined : new Error('the child closed the answer')));
}
