// Where a child's own messages go: a child request (sampling, elicitation, roots) or log line to the
// caller it belongs to (fail closed when that is ambiguous), list changes to a catalog refresh,
// resource updates to their subscribers. It must not decide policy: callers were checked on the way in.
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Logger } from '../../lib/log.ts';
import type { ChildNotification, ChildRequest, UpstreamConnection } from '../upstreams/index.ts';
import type { Endpoint } from './core.ts';
import { levelAllows } from './log-levels.ts';
import type { CallRegistry, Relay } from './relay.ts';
import type { Subscriptions } from './subscriptions.ts';

export function createChildMessageRouter(deps: {
  calls: CallRegistry;
  subscriptions: Subscriptions;
  /** Endpoints by agent (legacy sessions and modern handlers). */
  endpoints: ReadonlyMap<string, Set<Endpoint>>;
  logger: Logger;
  /** The child said one of its lists changed. */
  listChanged: (upstreamId: string, kind: 'tools' | 'prompts' | 'resources') => void;
}) {
  const { calls, subscriptions, endpoints, logger } = deps;

  function relayChildRequest(
    conn: UpstreamConnection,
    request: ChildRequest,
    signal: AbortSignal,
    caller: Relay | undefined,
  ) {
    const relay = caller ?? calls.attribute(conn);
    if (relay === undefined || (conn.agent !== undefined && relay.agent !== conn.agent)) {
      if (request.method === 'roots/list') return rootsOutsideCall(conn, signal);
      logger.warn(
        { server: conn.upstreamId, method: request.method },
        'child request with no attributable caller refused',
      );
      return Promise.reject(
        new ProtocolError(ProtocolErrorCode.InternalError, 'No caller to relay this request to'),
      );
    }
    return relay.request(request, signal);
  }

  /**
   * A child asked for roots with no one call to answer it (servers ask right after initialize, and again
   * after roots/list_changed). On a connection that is one agent's, the agent's newest session that can
   * list roots answers. Anywhere else no single agent's roots apply, and the proxy, a client with no roots
   * of its own, answers an empty list: it grants nothing and shows no agent's roots to another.
   */
  function rootsOutsideCall(conn: UpstreamConnection, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (conn.agent !== undefined) {
      const sessions = [...(endpoints.get(conn.agent) ?? [])].reverse();
      for (const endpoint of sessions) {
        const asked = endpoint.listRoots?.(signal);
        if (asked !== undefined) return asked;
      }
    }
    logger.debug({ server: conn.upstreamId }, 'roots asked outside any call: answered with none');
    return Promise.resolve({ roots: [] });
  }

  function onChildNotification(
    conn: UpstreamConnection,
    notification: ChildNotification,
    caller: Relay | undefined,
  ): void {
    switch (notification.method) {
      case 'notifications/tools/list_changed':
        deps.listChanged(conn.upstreamId, 'tools');
        return;
      case 'notifications/prompts/list_changed':
        deps.listChanged(conn.upstreamId, 'prompts');
        return;
      case 'notifications/resources/list_changed':
        deps.listChanged(conn.upstreamId, 'resources');
        return;
      case 'notifications/resources/updated': {
        const uri = notification.params?.uri;
        if (typeof uri !== 'string') return;
        for (const endpoint of subscriptions.subscribers(conn, uri)) endpoint.resourceUpdated(uri);
        return;
      }
      case 'notifications/message': {
        const params = notification.params ?? {};
        const relay = caller ?? calls.attribute(conn);
        if (relay !== undefined && (conn.agent === undefined || relay.agent === conn.agent)) {
          void relay.notify({ method: 'notifications/message', params }).catch(() => undefined);
        } else if (conn.agent !== undefined) {
          for (const endpoint of endpoints.get(conn.agent) ?? []) {
            if (levelAllows(endpoint.logLevel, params.level))
              endpoint.notify?.('notifications/message', params);
          }
        } else {
          logger.debug(
            { server: conn.upstreamId, params },
            'child log message with no attributable caller dropped',
          );
        }
        return;
      }
      case 'notifications/elicitation/complete': {
        // A URL-mode elicitation finished out of band: tell the agent it was asked of.
        const params = notification.params ?? {};
        const relay = caller ?? calls.attribute(conn);
        if (relay !== undefined && (conn.agent === undefined || relay.agent === conn.agent)) {
          void relay.notify({ method: notification.method, params }).catch(() => undefined);
        } else if (conn.agent !== undefined) {
          for (const endpoint of endpoints.get(conn.agent) ?? [])
            endpoint.notify?.(notification.method, params);
        }
        return;
      }
      default:
        return;
    }
  }

  return { relayChildRequest, onChildNotification };
}
