/**
 * Group commit. Writes that arrive in the same turn of the event loop share
 * one BEGIN IMMEDIATE … COMMIT (a lone write at low load goes at once: see
 * schedule), and no operation's promise settles before the COMMIT that makes
 * it durable has returned. Under many concurrent agents this
 * pays the transaction and WAL page writes once per batch instead of once
 * per action.
 *
 * Operations share the transaction without savepoints (SAVEPOINT and RELEASE
 * per operation saved, and the journal SQLite keeps for a savepoint's
 * rollback). When one of them throws, the batch is rolled back and its
 * operations run again split where it failed (those before it together, it
 * alone, those after it together), so a failing write still fails alone and
 * the others commit; running one again is safe, as
 * nothing of the first run was committed (the PostgreSQL writer runs each alone).
 *
 * Any doubt about what was written fails the batch: a COMMIT that failed
 * rejects every operation in it. If even the ROLLBACK fails the connection is
 * left unusable, and the store refuses all later writes rather than let them
 * run without a real COMMIT.
 */
import type Database from 'better-sqlite3';

/** `group`: the operation was in a batch that failed, and now runs in a transaction with only the others of that group. */
type Op = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void; group?: object };

/** Most operations in one transaction, so one batch cannot hold the write lock for long. */
const MAX_BATCH = 256;
/** How long a batch keeps trying for the write lock another process holds: the store's busy timeout. */
export const BUSY_WAIT_MS = 10_000;

/**
 * `onReset` is called whenever what the connection wrote may differ from what the operations before saw: at each
 * BEGIN (another process may have written since the last batch) and after any rollback. A store may cache what it
 * read inside a batch (the audit head) until then.
 */
export function createGroupCommit(db: Database.Database, onBroken: (error: unknown) => Error, onReset: () => void = () => {}): <T>(run: () => T) => Promise<T> {
  const queue: Op[] = [];
  let scheduled = false;
  /** The last batch held more than one write: writes are arriving together, and wait for each other. */
  let batching = false;
  /** No write was flushed at once since the last check phase. */
  let turnEnded = true;
  const turnEnds = (): void => {
    turnEnded = true;
  };
  let broken: Error | undefined;
  // Prepared once: exec() would parse each of these again for every operation.
  const sql = {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    // PRAGMA busy_timeout answers with the new value, so these are read with get().
    noWait: db.prepare('PRAGMA busy_timeout = 0'),
    wait: db.prepare(`PRAGMA busy_timeout = ${BUSY_WAIT_MS}`),
  };
  let busySince: number | undefined;

  /** The next batch: a group of a failed batch, else the operations queued up to the next of those. */
  function take(): Op[] {
    const group = queue[0]?.group;
    let n = 0;
    while (n < queue.length && n < MAX_BATCH && queue[n]!.group === group) n++;
    return queue.splice(0, n);
  }

  /**
   * A failed batch split where it failed: the operations before the one that threw (they ran together once, so they
   * are run together again), that one alone, and those after it (they never ran). A group fails again only into
   * smaller ones, so every operation ends committed or rejected alone; a refused write costs its batch two or three
   * more transactions, not one per operation.
   */
  function requeue(ops: Op[], failed: number): void {
    const parts = [ops.slice(0, failed), ops.slice(failed, failed + 1), ops.slice(failed + 1)];
    queue.unshift(...parts.flatMap((part) => {
      const group = {};
      return part.map((op): Op => ({ ...op, group }));
    }));
  }

  /**
   * Takes the write lock without blocking the event loop. The connection's busy timeout would have SQLite sleep
   * inside BEGIN while another process (a worker of the same gateway, a CLI command) holds the lock, and this
   * process could not even read a request meanwhile; instead BEGIN fails at once and the batch is tried again a
   * moment later, growing with whatever arrived in between. After BUSY_WAIT_MS of trying it fails, as the busy
   * timeout would have.
   */
  function lock(): 'locked' | 'busy' {
    onReset();
    sql.noWait.get();
    try {
      sql.begin.run();
      busySince = undefined;
      return 'locked';
    } catch (error) {
      // Any extended SQLITE_BUSY (SQLITE_BUSY_RECOVERY: another process is recovering the WAL) is one the busy
      // timeout would have waited through; failing the batch on it would lose the outcome of an action that ran.
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) {
        busySince = undefined; // this batch fails: the next one waits its own BUSY_WAIT_MS
        throw error;
      }
      busySince ??= Date.now();
      if (Date.now() - busySince >= BUSY_WAIT_MS) {
        busySince = undefined;
        throw error;
      }
      return 'busy';
    } finally {
      sql.wait.get();
    }
  }

  function flush(): void {
    scheduled = false;
    if (broken) {
      for (const op of queue.splice(0, MAX_BATCH)) op.reject(broken);
      if (queue.length > 0) schedule();
      return;
    }
    let ops: Op[];
    try {
      if (lock() === 'busy') {
        scheduled = true;
        setTimeout(flush, 1);
        return;
      }
    } catch (error) {
      if (db.inTransaction) broken = onBroken(error);
      ops = take();
      if (queue.length > 0) schedule();
      for (const op of ops) op.reject(error);
      return;
    }
    ops = take();
    batching = ops.length > 1;
    if (queue.length > 0) schedule();
    const values: unknown[] = [];
    let committing = false;
    try {
      try {
        for (const op of ops) values.push(op.run());
        committing = true;
        sql.commit.run();
      } catch (error) {
        onReset();
        if (db.inTransaction) sql.rollback.run();
        throw error;
      }
    } catch (error) {
      if (db.inTransaction) {
        broken = onBroken(error);
      } else if (!committing && ops.length > 1) {
        // Nothing of the batch was committed: its operations go first, in groups split where it failed.
        requeue(ops, values.length);
        if (!scheduled) schedule();
        return;
      }
      for (const op of ops) op.reject(error);
      return;
    }
    ops.forEach((op, i) => op.resolve(values[i]));
  }

  /**
   * A write alone, the first of its turn after a batch that was alone too (one agent, one action at a time), is flushed
   * as soon as the code that queued it has run: in a microtask, not after the rest of the turn's I/O. Any more writes in
   * that turn, and every write while batches hold more than one, wait for the check phase (setImmediate) and go
   * together, so the batching under load is as before; a load that starts costs one batch of one per turn at most.
   */
  function schedule(): void {
    scheduled = true;
    if (batching || !turnEnded) {
      setImmediate(flush);
      return;
    }
    turnEnded = false;
    setImmediate(turnEnds);
    queueMicrotask(flush);
  }

  return <T>(run: () => T) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!scheduled) schedule();
    });
}
