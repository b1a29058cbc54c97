/**
 * The notifier a config calls for: wake-ups that reach every process on its
 * store. LISTEN/NOTIFY on PostgreSQL; the primary's relay for the workers of
 * `server.workers` on SQLite; else this process only. The PostgreSQL one (and
 * pg) loads only when the store is PostgreSQL.
 */
import cluster from 'node:cluster';
import type { Config } from '../../config/schema.ts';
import type { Log } from '../../core/ports.ts';
import { createClusterNotifier } from './cluster.ts';
import type { ClosableNotifier, LoadRequest } from './listeners.ts';
import { createMemoryNotifier } from './memory.ts';

export type { ClosableNotifier } from './listeners.ts';
export { relayChanges } from './cluster.ts';

/**
 * @example
 * const notifier = await createNotifier(config, { load: (id) => store.getRequest(id), log });
 */
export async function createNotifier(config: Pick<Config, 'store'>, opts: { load: LoadRequest; log: Log }): Promise<ClosableNotifier> {
  const pg = config.store.postgres;
  if (pg) return (await import('./postgres.ts')).createPostgresNotifier({ url: pg.url, ...opts, connectTimeoutMs: pg.connectTimeout * 1000, ...(pg.ssl !== undefined ? { ssl: pg.ssl } : {}) });
  if (cluster.isWorker) return createClusterNotifier(opts);
  return { ...createMemoryNotifier(), close: async () => {} };
}
