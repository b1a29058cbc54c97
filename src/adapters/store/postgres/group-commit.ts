/**
 * Write transactions, with group commit. Every write locks the audit head
 * first (see audit.ts), so writes are serialized across replicas anyway;
 * writes that queue up while a transaction is in flight share the next one,
 * each inside its own SAVEPOINT: an operation that throws rolls back alone,
 * and no operation's promise settles before the COMMIT that makes it durable
 * has returned. That pays the lock, the COMMIT and its WAL flush once per
 * batch instead of once per write (`npm run bench:pg-store`: 3 to 8 times the
 * writes per second of a transaction per write); a lone write is a batch of
 * one, without a savepoint.
 *
 * Any doubt fails the whole batch: a lost connection mid-transaction, a
 * savepoint that cannot be rolled back, a COMMIT that did not say COMMIT.
 * A COMMIT whose connection dies has an unknown outcome and is reported as
 * STORE_UNAVAILABLE, so callers never act on a write that may not exist.
 */
import type { AuditLog, AuditTx } from './audit.ts';
import type { Conn, Db, Run } from './pool.ts';

export type TxOp<T> = (run: Run, audit: AuditTx) => Promise<T>;
type Op = { run: TxOp<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Most operations in one transaction, so one batch cannot hold the audit head for long. */
const MAX_BATCH = 64;

export function createWriter(db: Db, log: AuditLog, options: { groupCommit: boolean; retries: number }): <T>(op: TxOp<T>) => Promise<T> {
  const queue: Op[] = [];
  let inFlight = false;

  /**
   * `run`, remembering the first failure of the connection itself: whether an operation lost it is asked of its
   * statements, never read from the error the operation threw (its own code may throw any text, or wrap theirs).
   */
  function tracked(c: Conn): { run: Run; lost(): unknown } {
    let lost: unknown;
    const run: Run = (sql, values) =>
      c.run(sql, values).catch((e: unknown) => {
        if (lost === undefined && db.lost(e)) lost = e;
        throw e;
      }) as never;
    return { run, lost: () => lost };
  }

  async function runOne(conn: { run: Run; lost(): unknown }, tx: AuditTx, op: Op, alone: boolean): Promise<Outcome> {
    const run = conn.run;
    if (!alone) await run('SAVEPOINT op');
    const mark = tx.mark();
    try {
      const value = await op.run(run, tx);
      if (!alone) await run('RELEASE SAVEPOINT op');
      return { ok: true, value };
    } catch (error) {
      if (conn.lost() !== undefined) throw conn.lost();
      tx.restore(mark);
      if (!alone) {
        await run('ROLLBACK TO SAVEPOINT op'); // if this throws, the batch fails: its writes are in doubt
        await run('RELEASE SAVEPOINT op');
      }
      return { ok: false, error: db.fail(error, true) };
    }
  }

  async function transact(ops: Op[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let c: Conn | undefined;
      let started = false;
      try {
        c = await db.connect();
        const conn = tracked(c);
        await conn.run('BEGIN');
        const tx = await log.begin(conn.run);
        started = true;
        const outcomes: Outcome[] = [];
        for (const op of ops) outcomes.push(await runOne(conn, tx, op, ops.length === 1));
        if (outcomes.some((o) => o.ok)) {
          await tx.finish();
          const done = await c.run('COMMIT');
          // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
          if (done.command !== 'COMMIT') throw new Error(`the transaction ended with ${done.command}, not COMMIT`);
        } else {
          await c.run('ROLLBACK');
        }
        c.done();
        outcomes.forEach((o, i) => (o.ok ? ops[i]!.resolve(o.value) : ops[i]!.reject(o.error)));
        return;
      } catch (error) {
        log.abort();
        if (c) {
          const ended = !db.lost(error) && (await c.run('ROLLBACK').then(() => true, () => false));
          c.done(!ended);
        }
        // A connection the server killed while it sat idle fails at BEGIN, before anything ran: take another.
        if (!started && c && db.retryable(error) && attempt < options.retries) continue;
        const failure = db.fail(error);
        for (const op of ops) op.reject(failure);
        return;
      }
    }
  }

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    void transact(queue.splice(0, MAX_BATCH)).finally(() => {
      inFlight = false;
      flush();
    });
  }

  return <T>(run: TxOp<T>) =>
    new Promise<T>((resolve, reject) => {
      const op: Op = { run: run as TxOp<unknown>, resolve: resolve as (v: unknown) => void, reject };
      if (!options.groupCommit) {
        void transact([op]);
        return;
      }
      queue.push(op);
      // The first write of a quiet period goes at once; those that arrive while it runs share the next transaction.
      if (!inFlight) setImmediate(flush);
    });
}
