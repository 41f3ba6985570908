// Modern-era (2026-07-28) relay of a child's sampling/elicitation/roots requests: the front request
// answers `input_required` carrying the child's requests; the client's retry (same requestState)
// carries the answers, which resolve the child's pending requests while the upstream call goes on.
// Flows live in memory, are bound to the agent that started them, and expire.
import { randomBytes } from 'node:crypto';
import type { ChildRequest } from '../upstreams/index.ts';

type Outcome =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'input'; requests: Record<string, ChildRequest> };

interface Pending {
  request: ChildRequest;
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export interface Flow {
  /** The requestState an `input_required` round names (random, made on first use: most calls never need it). */
  readonly id: string;
  /** Who the flow's child messages belong to (proxy/gateway/relay.ts): unique per flow, never shown. */
  readonly session: string;
  readonly agent: string;
  /** For the upstream relay: queue a child's request for the next `input_required`. */
  ask(request: ChildRequest, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Resolves the requests asked in the last round with the client's answers. */
  answer(responses: Record<string, unknown> | undefined): void;
  /** Waits for the call's result or for child requests to hand to the client. */
  next(signal: AbortSignal): Promise<Outcome>;
  /** Current leg's notifier (progress and logs go to whichever front request is live). */
  notifier: ((n: { method: string; params?: Record<string, unknown> }) => Promise<void>) | undefined;
  readonly abort: AbortController;
}

export function createFlowStore(options: { ttlMs: number }) {
  const flows = new Map<string, { flow: Flow; timer: NodeJS.Timeout }>();
  /** Flows that have been in `flows` (handed out in an input_required round). */
  const kept = new WeakSet<Flow>();
  let started = 0;

  const touch = (flow: Flow): void => {
    kept.add(flow);
    const held = flows.get(flow.id);
    if (held) clearTimeout(held.timer);
    const timer = setTimeout(() => {
      flows.delete(flow.id);
      flow.abort.abort(new Error('input_required flow expired'));
    }, options.ttlMs);
    timer.unref();
    flows.set(flow.id, { flow, timer });
  };

  return {
    start(agent: string, run: (flow: Flow) => Promise<Record<string, unknown>>): Flow {
      const fresh = new Map<string, Pending>();
      const asked = new Map<string, Pending>();
      let counter = 0;
      let wake: (() => void) | undefined;
      let settled: Outcome | undefined;
      let failure: Error | undefined;
      let id: string | undefined;
      started += 1;
      const flow: Flow = {
        get id() {
          return (id ??= `flow_${randomBytes(24).toString('base64url')}`);
        },
        session: `flow:${started}`,
        agent,
        abort: new AbortController(),
        notifier: undefined,
        ask(request, signal) {
          return new Promise((resolve, reject) => {
            counter += 1;
            const key = `r${counter}`;
            fresh.set(key, { request, resolve, reject });
            signal.addEventListener('abort', () => {
              fresh.delete(key);
              asked.delete(key);
              reject(new Error('cancelled'));
            });
            wake?.();
          });
        },
        answer(responses) {
          for (const [key, pending] of asked) {
            const response = responses?.[key];
            if (response !== undefined && typeof response === 'object' && response !== null) {
              pending.resolve(response as Record<string, unknown>);
            } else {
              pending.reject(new Error(`no answer for input request ${key}`));
            }
          }
          asked.clear();
        },
        async next(signal) {
          for (;;) {
            if (failure !== undefined) throw failure;
            if (settled) return settled;
            if (fresh.size > 0) {
              // Let sibling requests sent in the same burst join this round.
              await new Promise((resolve) => setImmediate(resolve));
              const requests: Record<string, ChildRequest> = {};
              for (const [key, pending] of fresh) {
                requests[key] = pending.request;
                asked.set(key, pending);
              }
              fresh.clear();
              touch(flow);
              return { kind: 'input', requests };
            }
            if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
            await new Promise<void>((resolve) => {
              wake = resolve;
              signal.addEventListener('abort', () => resolve(), { once: true });
            });
            wake = undefined;
          }
        },
      };
      run(flow).then(
        (result) => {
          settled = { kind: 'result', result };
          wake?.();
        },
        (error: unknown) => {
          failure = error instanceof Error ? error : new Error(String(error));
          wake?.();
        },
      );
      return flow;
    },
    /** The flow for an echoed requestState, only for the agent that started it. */
    resume(id: string, agent: string): Flow | undefined {
      const held = flows.get(id);
      if (!held || held.flow.agent !== agent) return undefined;
      return held.flow;
    },
    finish(flow: Flow): void {
      if (!kept.has(flow)) return;
      const held = flows.get(flow.id);
      if (held) clearTimeout(held.timer);
      flows.delete(flow.id);
    },
    size: () => flows.size,
    close(): void {
      for (const { flow, timer } of flows.values()) {
        clearTimeout(timer);
        flow.abort.abort(new Error('gateway closed'));
      }
      flows.clear();
    },
  };
}

export type FlowStore = ReturnType<typeof createFlowStore>;
