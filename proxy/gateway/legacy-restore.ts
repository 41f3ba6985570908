// Rebuilds a 2025-era session on this replica from its sealed id (session-seal.ts) when a request names a session
// another replica opened (or this one before a restart): the client's initialize is replayed from the id, then
// notifications/initialized, on a fresh front server bound to the same id; the request then proceeds as on any live
// session. What a session held only in memory does not come along: resource subscriptions and an open GET stream
// (the client re-establishes the stream as the spec allows), and a server→client request in flight on the old
// replica. It must not accept an id for another agent: legacy.ts answers that exactly like an unknown session.
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { SessionSeal } from './session-seal.ts';
import type { Principal } from './types.ts';

export type OpenSession = (
  request: Request,
  principal: Principal,
  parsedBody: unknown,
  authInfo: AuthInfo | undefined,
  sessionId: string,
) => Promise<Response>;

export type PostOnSession = (sessionId: string, request: Request, parsedBody: unknown) => Promise<Response>;

export interface SessionRestorer {
  /** True when `sid` is now a live session of `principal` here. */
  restore(
    sid: string,
    principal: Principal,
    request: Request,
    authInfo: AuthInfo | undefined,
  ): Promise<boolean>;
}

const accept = 'application/json, text/event-stream';

export function createSessionRestorer(options: {
  seal: SessionSeal;
  open: OpenSession;
  post: PostOnSession;
  has: (sid: string, agent: string) => boolean;
}): SessionRestorer {
  // Requests racing on one id wait for the first rebuild instead of opening the session twice.
  const pending = new Map<string, Promise<boolean>>();

  const rebuild = async (
    sid: string,
    principal: Principal,
    request: Request,
    authInfo: AuthInfo | undefined,
  ): Promise<boolean> => {
    const sealed = options.seal.open(sid);
    if (sealed === undefined || sealed.agent !== principal.agent) return false;
    const initialize = { jsonrpc: '2.0', id: 'mcpcp-restore', method: 'initialize', params: sealed.init };
    const opened = await options.open(
      new Request(request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify(initialize),
      }),
      principal,
      initialize,
      authInfo,
      sid,
    );
    const answer = (await opened.json().catch(() => undefined)) as
      { result?: { protocolVersion?: string } } | undefined;
    const version = answer?.result?.protocolVersion;
    if (!opened.ok || version === undefined || !options.has(sid, principal.agent)) return false;
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const done = await options.post(
      sid,
      new Request(request.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept,
          'mcp-session-id': sid,
          'mcp-protocol-version': version,
        },
        body: JSON.stringify(initialized),
      }),
      initialized,
    );
    await done.body?.cancel();
    return done.ok;
  };

  return {
    restore(sid, principal, request, authInfo) {
      if (options.has(sid, principal.agent)) return Promise.resolve(true);
      let run = pending.get(sid);
      if (run === undefined) {
        run = rebuild(sid, principal, request, authInfo)
          .catch(() => false)
          .finally(() => pending.delete(sid));
        pending.set(sid, run);
      }
      return run.then((ok) => ok && options.has(sid, principal.agent));
    },
  };
}
