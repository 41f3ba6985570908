// Builds the SDK Client the proxy uses toward a child: it declares the client capabilities the proxy
// can relay and hands every child request and notification to the gateway's hooks.
// It must not decide where a child request goes; the gateway attributes it to a caller.
import { Client, type JSONRPCResponse } from '@modelcontextprotocol/client';
import { currentCaller, type Attribution } from './attribution.ts';
import { bridgeResultType } from './result-bridge.ts';
import type { UpstreamConnection, UpstreamHooks } from './types.ts';

/**
 * The SDK dispatches notifications on a microtask but responses at once, so a child's last progress
 * notification written just before its result would find its handler already gone and be dropped.
 * Deferring each response by one microtask keeps the wire order.
 */
class OrderedClient extends Client {
  /** Told once when a 2026-era child's result lacked `resultType` (result-bridge.ts). */
  onBridged: (() => void) | undefined;

  protected override _onresponse(response: JSONRPCResponse): void {
    const bridged = this.bridge(response);
    queueMicrotask(() => super._onresponse(bridged));
  }

  /** A response as this client reads it (the upstream direct lane reads responses the same way). */
  bridge<T extends JSONRPCResponse>(response: T): T {
    return this.getProtocolEra() === 'modern' ? bridgeResultType(response, () => this.bridged()) : response;
  }

  private warned = false;
  private bridged(): void {
    if (this.warned) return;
    this.warned = true;
    this.onBridged?.();
  }
}

/** How the proxy's client toward a child reads `response` (result-bridge.ts); unchanged for other clients. */
export function readResponse<T extends JSONRPCResponse>(client: Client, response: T): T {
  return client instanceof OrderedClient ? client.bridge(response) : response;
}

const relayedRequests = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;

export function createUpstreamClient(
  hooks: UpstreamHooks,
  connection: () => UpstreamConnection,
  attribution?: Attribution,
  era: 'legacy' | 'auto' = 'legacy',
  /** Told once when a 2026-era child's result lacked `resultType` and was read as complete. */
  onBridged?: () => void,
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
  client.onBridged = onBridged;
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
