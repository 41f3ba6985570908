// The change-event bus behind 2026-era subscriptions/listen streams, aware of who opened each stream: a resource
// update reaches a stream only when the server's own access decision (`mayHear`) says that stream's caller may read
// the resource, asked at delivery time (access can change while a stream is open, e.g. after a kick). A stream whose
// caller is unknown hears no resource updates (fail closed). It must not know what the resources are.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Caller } from './caller.ts';

export type MayHear = (caller: Caller, uri: string) => Promise<boolean>;

export interface CallerEventBus {
  bus: ServerEventBus;
  /** Runs fn (serving one modern request) so that a listen stream it opens is bound to caller. */
  serveAs<T>(caller: Caller, fn: () => T): T;
}

interface Entry {
  caller: Caller | undefined;
  listener: (event: ServerEvent) => void;
}

export function createCallerEventBus(options: {
  mayHear: MayHear;
  onerror: (error: Error) => void;
}): CallerEventBus {
  // The SDK's listen router subscribes while serving the subscriptions/listen request, inside serveAs's context.
  const current = new AsyncLocalStorage<Caller>();
  const entries = new Set<Entry>();

  const deliver = (entry: Entry, event: ServerEvent): void => {
    if (!entries.has(entry)) return; // closed while the decision was pending
    try {
      entry.listener(event);
    } catch (error) {
      options.onerror(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const publishUpdate = (event: ServerEvent & { kind: 'resource_updated' }): void => {
    // One decision per agent and event, however many streams that agent holds.
    const byAgent = new Map<string, { caller: Caller; entries: Entry[] }>();
    for (const entry of entries) {
      if (entry.caller === undefined) continue;
      const group = byAgent.get(entry.caller.agent) ?? { caller: entry.caller, entries: [] };
      group.entries.push(entry);
      byAgent.set(entry.caller.agent, group);
    }
    for (const group of byAgent.values()) {
      options.mayHear(group.caller, event.uri).then(
        (allowed) => {
          if (allowed) for (const entry of group.entries) deliver(entry, event);
        },
        (error: unknown) => options.onerror(error instanceof Error ? error : new Error(String(error))),
      );
    }
  };

  return {
    bus: {
      publish(event) {
        if (event.kind === 'resource_updated') publishUpdate(event);
        else for (const entry of [...entries]) deliver(entry, event);
      },
      subscribe(listener) {
        const entry: Entry = { caller: current.getStore(), listener };
        entries.add(entry);
        return () => void entries.delete(entry);
      },
    },
    serveAs: (caller, fn) => current.run(caller, fn),
  };
}
