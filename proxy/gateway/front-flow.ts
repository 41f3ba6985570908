// 2026-07-28 calls that reach a child: a child's request (sampling, elicitation, roots) becomes an
// `input_required` round whose requestState names an in-memory flow bound to the agent; the client's
// retry carries the answers while the upstream call keeps running (flows.ts).
import {
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type LoggingLevel,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { FrontContext } from './front-server.ts';

type Params = Record<string, unknown>;

/** The log level a 2026-07-28 request asks for in its `_meta` envelope, if any. */
function envelopeLogLevel(ctx: ServerContext): LoggingLevel | undefined {
  const level = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY];
  return typeof level === 'string' ? (level as LoggingLevel) : undefined;
}

/** Modern era: child requests become `input_required` rounds; the flow outlives each round. */
export async function callViaFlow(
  fc: FrontContext,
  serverId: string,
  method: string,
  params: Params,
  ctx: ServerContext,
  progressToken: string | number | undefined,
): Promise<Params> {
  const { core, principal } = fc;
  const state = ctx.mcpReq.requestState<unknown>();
  let flow;
  if (typeof state === 'string') {
    flow = fc.flows.resume(state, principal.agent);
    if (!flow) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid or expired requestState');
    flow.answer(ctx.mcpReq.inputResponses);
  } else {
    flow = fc.flows.start(principal.agent, (f) =>
      core.callChild({
        principal,
        era: 'modern',
        server: serverId,
        method,
        params,
        signal: f.abort.signal,
        ...(envelopeLogLevel(ctx) === undefined ? {} : { logLevel: envelopeLogLevel(ctx) }),
        clientCapabilities: (ctx.mcpReq.envelope as Params | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as
          Params | undefined,
        ...(progressToken === undefined ? {} : { progressToken }),
        relay: {
          agent: principal.agent,
          session: f.session,
          notify: (n) => f.notifier?.(n) ?? Promise.resolve(),
          request: (r, signal) => f.ask(r, signal),
        },
      }),
    );
  }
  const leg = ctx.mcpReq.signal;
  flow.notifier = (n) => (leg.aborted ? Promise.resolve() : ctx.mcpReq.notify(n));
  const onAbort = (): void => flow.abort.abort(leg.reason);
  leg.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await flow.next(leg);
    if (outcome.kind === 'result') {
      fc.flows.finish(flow);
      return outcome.result;
    }
    return inputRequired({
      inputRequests: outcome.requests as never,
      requestState: flow.id,
    });
  } catch (error) {
    fc.flows.finish(flow);
    throw error;
  } finally {
    leg.removeEventListener('abort', onAbort);
    flow.notifier = undefined;
  }
}
