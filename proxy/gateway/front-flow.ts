// 2026-07-28 calls that reach a child, and their `input_required` rounds. Two kinds of round:
// - a 2026-era child's own `input_required` passes through as the child wrote it (its inputRequests keys
//   unchanged); the proxy's requestState seals the child's (request-state.ts), so the retry can be
//   answered by any proxy replica, and the retry goes to the child with the agent's answers;
// - a 2025-era child asking mid-call (sampling, elicitation, roots as server→client requests) becomes a
//   round whose requestState names an in-memory flow bound to the agent (flows.ts): the upstream call
//   keeps running while the agent answers, so only this process can resume it.
// Every round gets a fresh requestState. It must not decide who may call what: the front routed first.
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
import { refuseUndeclared } from './client-capabilities.ts';
import type { RoundState } from './request-state.ts';

type Params = Record<string, unknown>;

/** The log level a 2026-07-28 request asks for in its `_meta` envelope, if any. */
function envelopeLogLevel(ctx: ServerContext): LoggingLevel | undefined {
  const level = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY];
  return typeof level === 'string' ? (level as LoggingLevel) : undefined;
}

const invalidState = (why: string): ProtocolError =>
  new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid or expired requestState: ${why}`);

/** Modern era: a routed call, with its `input_required` rounds relayed both ways. */
export async function callViaFlow(
  fc: FrontContext,
  serverId: string,
  method: string,
  name: string,
  params: Params,
  ctx: ServerContext,
  progressToken: string | number | undefined,
): Promise<Params> {
  const { core, principal } = fc;
  const state = ctx.mcpReq.requestState<unknown>();
  let round: RoundState | undefined;
  if (state !== undefined) {
    round = typeof state === 'string' ? await fc.states.open(principal.agent, state) : undefined;
    if (round === undefined) throw invalidState('it was not issued to this agent by this proxy');
    if (round.server !== serverId || round.method !== method || round.name !== name)
      throw invalidState(`it belongs to another request (${round.method} ${round.name})`);
  }
  const answers = ctx.mcpReq.inputResponses;
  let flow;
  if (round?.flow !== undefined) {
    flow = fc.flows.resume(round.flow, principal.agent);
    if (!flow)
      throw invalidState(
        'its call was held by another proxy process, or it expired (a 2025-era server asked mid-call)',
      );
    flow.answer(answers);
  } else {
    // A fresh call, or the retry of a child's own round: the child gets the agent's answers and its state.
    const upstreamParams: Params = { ...params };
    if (answers !== undefined) upstreamParams.inputResponses = answers;
    if (round?.child !== undefined) upstreamParams.requestState = round.child;
    const declared = (ctx.mcpReq.envelope as Params | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as
      Params | undefined;
    flow = fc.flows.start(principal.agent, (f) =>
      core.callChild({
        principal,
        era: 'modern',
        server: serverId,
        method,
        params: upstreamParams,
        passInputRequired: true,
        signal: f.abort.signal,
        ...(envelopeLogLevel(ctx) === undefined ? {} : { logLevel: envelopeLogLevel(ctx) }),
        clientCapabilities: declared,
        ...(progressToken === undefined ? {} : { progressToken }),
        relay: {
          agent: principal.agent,
          session: f.session,
          notify: (n) => f.notifier?.(n) ?? Promise.resolve(),
          request: (r, signal) => {
            const refused = refuseUndeclared(r, declared, serverId);
            return refused === undefined ? f.ask(r, signal) : Promise.reject(refused);
          },
        },
      }),
    );
  }
  const leg = ctx.mcpReq.signal;
  flow.notifier = (n) => (leg.aborted ? Promise.resolve() : ctx.mcpReq.notify(n));
  const onAbort = (): void => flow.abort.abort(leg.reason);
  leg.addEventListener('abort', onAbort, { once: true });
  const where = { server: serverId, method, name };
  try {
    const outcome = await flow.next(leg);
    if (outcome.kind === 'result') {
      fc.flows.finish(flow);
      const result = outcome.result;
      if (result.resultType !== 'input_required') return result;
      // The child's own round: its requests as it wrote them, its state sealed for the retry.
      const childState = result.requestState;
      return inputRequired({
        inputRequests: (result.inputRequests ?? {}) as never,
        requestState: await fc.states.seal(principal.agent, {
          ...where,
          ...(typeof childState === 'string' ? { child: childState } : {}),
        }),
      });
    }
    return inputRequired({
      inputRequests: outcome.requests as never,
      requestState: await fc.states.seal(principal.agent, { ...where, flow: flow.id }),
    });
  } catch (error) {
    fc.flows.finish(flow);
    throw error;
  } finally {
    leg.removeEventListener('abort', onAbort);
    flow.notifier = undefined;
  }
}
