/**
 * In-process wake-ups for waiters (long-poll, server-sent events). One gateway
 * process is the embedded default; replicas will use PostgreSQL LISTEN/NOTIFY.
 */
import type { Notifier } from '../../core/ports.ts';
import type { RequestRecord } from '../../core/request.ts';

export function createMemoryNotifier(): Notifier {
  const listeners = new Map<string, Set<(r: RequestRecord) => void>>();
  const everything = new Set<(r: RequestRecord) => void>();
  return {
    publish(request) {
      for (const l of [...everything]) l(request);
      const set = listeners.get(request.id);
      if (!set) return;
      for (const l of [...set]) l(request);
    },
    subscribeAll(listener) {
      everything.add(listener);
      return () => everything.delete(listener);
    },
    subscribe(requestId, listener) {
      let set = listeners.get(requestId);
      if (!set) listeners.set(requestId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(requestId);
      };
    },
  };
}
