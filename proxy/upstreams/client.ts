// Builds the SDK Client the proxy uses toward a child: it declares the client capabilities the proxy
// can relay and hands every child request and notification to the gateway's hooks.
// It must not decide where a child request goes; the gateway attributes it to a caller.
import { Client, type JSONRPCResponse } from '@modelcontextprotocol/client';
import { currentCaller, type Attribution } from './attribution.ts';
import type { UpstreamConnection, UpstreamHooks } from './types.ts';

/**
 * The SDK dispatches notifications on a microtask but responses at once, so a child's last progress
 * notification written just before its result would find its handler already gone and be dropped.
 * Deferring each response by one microtask keeps the wire order.
 */
class OrderedClient extends Client {
  protected override _onresponse(response: JSONRPCResponse): void {
    queueMicrotask(() => super._onresponse(response));
  }
}

const relayedRequests = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;

export function createUpstreamClient(
  hooks: UpstreamHooks,
  connection: () => UpstreamConnection,
  attribution?: Attribution,
  era: 'legacy' | 'auto' = 'legacy',
): Client {
  const client = new OrderedClient(
    { name: 'mcpcp-proxy', version: '0.1.0' },
    {
      ...(era === 'auto' ? { versionNegotiation: { mode: 'auto' as const } } : {}),
      capabilities: {
        sampling: {},
        elicitation: { form: {}, url: {} },
        roots: { listChanged: true },
      },
    },
  );
  for (const method of relayedRequests) {
    client.setRequestHandler(method, async (request, ctx) => {
      const params = (request as { params?: Record<string, unknown> }).params;
      const result = await hooks.onChildRequest(
        connection(),
        { method, ...(params === undefined ? {} : { params }) },
        ctx.mcpReq.signal,
        // HTTP: the stream the request came on; modern children's input_required rounds are fulfilled
        // inside the call's own async context, so the caller is still current.
        attribution?.request(ctx.mcpReq.id) ?? currentCaller(),
      );
      return result as never;
    });
  }
  client.fallbackNotificationHandler = (notification) => {
    const caller =
      notification.method === 'notifications/message' ? attribution?.log(notification.params) : undefined;
    hooks.onChildNotification(
      connection(),
      {
        method: notification.method,
        ...(notification.params === undefined ? {} : { params: notification.params }),
      },
      caller,
    );
    return Promise.resolve();
  };
  return client;
}
