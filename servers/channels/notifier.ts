// Wakes waiting sync_messages calls and resource subscribers when a channel's transcript grows. Fed by this process's
// own writes and, with a store shared by replicas, by the store's append feed (LISTEN/NOTIFY), which repeats this
// process's writes: a head no newer than the last one published is dropped, so subscribers hear each append once.
// After the feed was interrupted (`resync`), every waiter and every subscriber is woken once to re-read, since
// appends made meanwhile were never announced.
export type AppendListener = (channelId: string, headSeq: number) => void;

export interface ChannelNotifier {
  publish(channelId: string, headSeq: number): void;
  /** `onResync` runs once per resync: the subscriber re-checks every channel it follows. */
  subscribe(listener: AppendListener, onResync?: () => void): () => void;
  /** Appends may have been missed (the feed reconnected): wakes every waiter and calls every `onResync` once. */
  resync(): void;
  /** Channels this process has seen appended to since it started. */
  knownChannels(): string[];
  /** Resolves true when the channel's head passes `afterSeq`, false after `ms` or on abort. */
  waitFor(channelId: string, afterSeq: number, ms: number, signal?: AbortSignal): Promise<boolean>;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // a failing subscriber must not stop delivery to the others
  }
}

export function createChannelNotifier(): ChannelNotifier {
  const listeners = new Map<AppendListener, (() => void) | undefined>();
  const waiters = new Map<string, Set<{ afterSeq: number; wake: () => void }>>();
  // Highest head announced per channel (a number per channel this process has seen written).
  const announced = new Map<string, number>();
  return {
    publish(channelId, headSeq) {
      if (headSeq <= (announced.get(channelId) ?? 0)) return;
      announced.set(channelId, headSeq);
      const set = waiters.get(channelId);
      if (set !== undefined) {
        for (const waiter of [...set]) if (headSeq > waiter.afterSeq) waiter.wake();
      }
      for (const listener of [...listeners.keys()]) safely(() => listener(channelId, headSeq));
    },
    resync() {
      // A woken waiter re-reads; with nothing new it waits out the rest of its time (messages.ts).
      for (const set of [...waiters.values()]) for (const waiter of [...set]) waiter.wake();
      for (const onResync of [...listeners.values()]) if (onResync !== undefined) safely(onResync);
    },
    knownChannels() {
      return [...announced.keys()];
    },
    subscribe(listener, onResync) {
      listeners.set(listener, onResync);
      return () => listeners.delete(listener);
    },
    waitFor(channelId, afterSeq, ms, signal) {
      // A head announced between the caller's read and this call must not be slept through.
      if ((announced.get(channelId) ?? 0) > afterSeq) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        let set = waiters.get(channelId);
        if (set === undefined) {
          set = new Set();
          waiters.set(channelId, set);
        }
        const entry = {
          afterSeq,
          wake: () => finish(true),
        };
        const timer = setTimeout(() => finish(false), ms);
        const onAbort = (): void => finish(false);
        signal?.addEventListener('abort', onAbort, { once: true });
        set.add(entry);
        function finish(value: boolean): void {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const current = waiters.get(channelId);
          current?.delete(entry);
          if (current?.size === 0) waiters.delete(channelId);
          resolve(value);
        }
      });
    },
  };
}
