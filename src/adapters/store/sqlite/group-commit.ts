/**
 * Group commit. Writes that arrive in the same turn of the event loop share
 * one BEGIN IMMEDIATE … COMMIT, each inside its own savepoint: an operation
 * that throws rolls back alone, and no operation's promise settles before the
 * COMMIT that makes it durable has returned. Under many concurrent agents this
 * pays the transaction and WAL page writes once per batch instead of once
 * per action; a lone write is a batch of one.
 */
import type Database from 'better-sqlite3';

type Op = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** Most operations in one transaction, so one batch cannot hold the write lock for long. */
const MAX_BATCH = 256;

export function createGroupCommit(db: Database.Database): <T>(run: () => T) => Promise<T> {
  const queue: Op[] = [];
  let scheduled = false;

  // Each operation is itself a better-sqlite3 transaction function; called inside
  // the batch's transaction it becomes a savepoint.
  const batch = db.transaction((ops: Op[]) =>
    ops.map((op): { ok: true; value: unknown } | { ok: false; error: unknown } => {
      try {
        return { ok: true, value: op.run() };
      } catch (error) {
        // Some errors (a full disk, an I/O error) make SQLite roll back the whole
        // transaction: every earlier operation is gone too, and the later ones
        // must not run on their own. Fail the batch.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    }),
  );

  function flush(): void {
    scheduled = false;
    const ops = queue.splice(0, MAX_BATCH);
    if (queue.length > 0) schedule();
    let outcomes: ReturnType<typeof batch>;
    try {
      outcomes = batch.immediate(ops);
    } catch (error) {
      // The COMMIT (or BEGIN) failed: nothing in this batch happened.
      for (const op of ops) op.reject(error);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? ops[i]!.resolve(o.value) : ops[i]!.reject(o.error)));
  }

  function schedule(): void {
    scheduled = true;
    setImmediate(flush);
  }

  return <T>(run: () => T) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!scheduled) schedule();
    });
}
