/**
 * Leases between the processes on one SQLite file (`server.workers`, or a
 * second gateway on the same file): a row per job with its holder and an
 * expiry, taken or renewed under the write lock (BEGIN IMMEDIATE). A holder
 * renews at each try; one that stops trying (it crashed, or hangs) loses the
 * job once its lease expires, and one that closes hands it over at once.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Leases } from '../../core/ports.ts';

export interface SqliteLeasesOptions {
  /** The store's file, already migrated by the store (its `leases` table). */
  readonly path: string;
  /** How long a lease lasts without renewal; keep it several times the interval between tries. */
  readonly ttlMs?: number;
  /** Wall-clock ms: expiries are compared across processes. */
  readonly now?: () => number;
}

/**
 * @example
 * const leases = createSqliteLeases({ path: config.store.sqlite.path, ttlMs: 5000 });
 */
export function createSqliteLeases(options: SqliteLeasesOptions): Leases {
  const ttl = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const me = `${process.pid}.${randomBytes(6).toString('hex')}`;
  const db = new Database(options.path, { fileMustExist: true });
  // Short: a busy file means "not leading this tick", not a stalled event loop.
  db.pragma('busy_timeout = 250');
  // wal_autocheckpoint stays at SQLite's default (1,000 pages), below the store's: these commits, once a second, are
  // where the WAL is usually copied back, not the commits requests wait for.

  const take = db.prepare(
    `INSERT INTO leases (job, holder, expires_at) VALUES (@job, @me, @until)
     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`,
  );
  const release = db.prepare('DELETE FROM leases WHERE holder = ?');
  const lead = db.transaction((job: string) => {
    const t = now();
    return take.run({ job, me, until: t + ttl, now: t }).changes === 1;
  });
  let closed = false;
  return {
    async tryLead(job) {
      if (closed) return false;
      try {
        return lead.immediate(job);
      } catch (e) {
        if (isBusy(e)) return false;
        throw e;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        release.run(me);
      } catch {
        // Busy or gone: the lease then expires by itself.
      }
      db.close();
    },
  };
}

function isBusy(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
