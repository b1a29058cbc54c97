/**
 * Opening the embedded store's file: created (with its directory) unless it must exist, in WAL mode, with the busy
 * wait, durability and WAL checkpoint settings every connection of the store uses. The schema is migrated by the
 * caller (store.ts).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CountersignError } from '../../../core/errors.ts';
import { BUSY_WAIT_MS } from './group-commit.ts';

/** Pages (4 KiB) of WAL after which a commit copies it back into the database file: at most about 40 MB of WAL. */
const WAL_CHECKPOINT_PAGES = 10_000;

/**
 * Switches the file to WAL. Where SQLite sees that waiting for a lock could deadlock (two processes switching or
 * migrating one new file at once, each holding what the other wants), it answers SQLITE_BUSY at once, without its
 * busy wait: seen when four workers started together on a loaded machine. The switch is tried again, pausing 5 ms to
 * 100 ms, for up to the busy wait; any other error, or a lock still held after that, is thrown.
 */
function walMode(db: Database.Database): void {
  const until = Date.now() + BUSY_WAIT_MS;
  for (let pause = 5; ; pause = Math.min(2 * pause, 100)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw e;
      // Start-up is synchronous: the process has nothing else to do until its store is open.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}

/**
 * @example
 * const db = openDatabase({ path: './.countersign/countersign.db' });
 */
export function openDatabase(options: { readonly path: string; readonly synchronous?: 'normal' | 'full'; readonly mustExist?: boolean }): Database.Database {
  if (options.mustExist && (options.path === ':memory:' || !existsSync(options.path))) {
    throw new CountersignError('CONFIG_INVALID', `no store at ${resolve(options.path)}`);
  }
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { fileMustExist: options.mustExist === true });
  // First: processes starting together on a new file wait for each other's lock (WAL switch, migrations) instead of failing.
  db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
  walMode(db);
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // The WAL is copied back into the file inside the COMMIT that passes this many pages, with two fsyncs, on the event
  // loop. At SQLite's default (1,000) that was one commit in a hundred, 10–60 ms each, most of the store's cost per
  // action; ten times rarer, the pages an action rewrites every time (index leaves, the tree's right edge) are copied
  // once for ten times as many actions. What a commit makes durable is unchanged (the WAL is the same file). In a
  // gateway the leases' own connection (adapters/leases/sqlite.ts, SQLite's default) commits once a second and so
  // usually checkpoints first, in a timer rather than in the commit a request waits for.
  db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  db.pragma('foreign_keys = ON');
  return db;
}
