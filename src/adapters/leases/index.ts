/**
 * The leases a config calls for: who runs the background jobs among the
 * processes on its store, one at a time, another when it goes. The PostgreSQL
 * leases (and pg) load only when the store is PostgreSQL.
 */
import type { Config } from '../../config/schema.ts';
import type { Leases, Log } from '../../core/ports.ts';
import { createMemoryLeases } from './memory.ts';
import { createSqliteLeases } from './sqlite.ts';

/**
 * `everyMs`: how often the jobs try to lead (the sweep interval).
 *
 * @example
 * const leases = await createLeases(config, { log, everyMs: 1000 });
 */
export async function createLeases(config: Pick<Config, 'store'>, opts: { log: Log; everyMs: number }): Promise<Leases> {
  const pg = config.store.postgres;
  if (pg) return (await import('./postgres.ts')).createPostgresLeases({ url: pg.url, log: opts.log, connectTimeoutMs: pg.connectTimeout * 1000, ...(pg.ssl !== undefined ? { ssl: pg.ssl } : {}) });
  if (config.store.sqlite.path === ':memory:') return createMemoryLeases();
  // Renewed at every try: a holder that stops (a crash) hands over after a few missed tries, not at once.
  return createSqliteLeases({ path: config.store.sqlite.path, ttlMs: Math.max(2000, 5 * opts.everyMs) });
}
