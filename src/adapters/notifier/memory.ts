/**
 * In-process wake-ups for waiters (long-poll, server-sent events): the
 * notifier of one gateway process on its own store. Replicas use
 * PostgreSQL LISTEN/NOTIFY (postgres.ts); the workers of `server.workers`
 * relay through their primary (cluster.ts).
 */
import type { Notifier } from '../../core/ports.ts';
import { createLocalListeners } from './listeners.ts';

export function createMemoryNotifier(): Notifier {
  const { publish, subscribe, subscribeAll } = createLocalListeners();
  return { publish, subscribe, subscribeAll };
}
