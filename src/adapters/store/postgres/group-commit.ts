/**
 * Write transactions, with group commit. Writes that queue up while a
 * transaction is in flight share the next one: each operation does its own
 * work (taking its row locks), then the audit events of all of them are
 * appended at once under the audit head (audit.ts), and one COMMIT makes
 * them durable; no operation's promise settles before that COMMIT has
 * returned. That pays the head, the COMMIT and its WAL flush once per batch
 * instead of once per write, and the head only for the append.
 *
 * Request rows an operation inserts, or writes over a record it knows, wait
 * in the batch (requests.ts DeferredRows) and go in one statement, before
 * the next statement of any operation, or with the head's lock when the
 * audit write comes next (the rows first, then the head: one round trip).
 * BEGIN waits for the first statement that needs it: when the operations
 * left everything to the end (an action's request row, its outcome over the
 * record it claimed) and this process wrote the head last, the rows and the
 * append are one statement sent without BEGIN, which commits on its own and
 * writes nothing if the head or a row moved on meanwhile, or the config an
 * insert was made under changed (append-sql.ts KNOWN_HEAD_WRITE); the batch
 * then runs again the classic way (one operation at a time, for a config
 * changed: its refusal is then each insert's own). Its
 * connection dying is then a COMMIT's: the outcome is unknown.
 *
 * Operations share the transaction without savepoints (two round trips per
 * operation saved). An operation that fails having only read (a refused
 * transition, a request not found) is left out alone: its reads changed
 * nothing. One that fails after writing, or any failure of the audit write,
 * rolls the whole batch back and runs each of its operations again in a
 * transaction of its own, so a failing write still fails alone. Running an
 * operation again is safe: nothing of the first run was committed.
 *
 * Any doubt fails the whole batch: a lost connection mid-transaction, a
 * COMMIT that did not say COMMIT; so does a statement that outlived its
 * timeout (STORE_BUSY), rather than each operation waiting as long again. A COMMIT whose connection dies has an
 * unknown outcome and is reported as STORE_UNAVAILABLE, so callers never act
 * on a write that may not exist.
 */
import { CountersignError } from '../../../core/errors.ts';
import type { AuditLog, AuditTx } from './audit.ts';
import type { Conn, Db, Run, Statement } from './pool.ts';
import type { LockedHeadRow } from './audit.ts';
import { deferredRows, type RowQueue } from './requests.ts';

/** `rows`, in a batch of several: request rows the operation may leave to the batch's one statement for them. */
export type TxOp<T> = (run: Run, audit: AuditTx, rows?: RowQueue) => Promise<T>;
type Op = { run: TxOp<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Most operations in one transaction, so one batch cannot hold row locks for long. */
const MAX_BATCH = 64;

/** Most batches run the classic way in a row after writes on the known head kept finding it moved. */
const MAX_BACKOFF = 64;

/** The batch must be rolled back and run again; `alone`: one operation per transaction at once, not classic first. */
class Split extends Error {
  constructor(readonly alone = false) {
    super();
  }
}

/** True for a statement that only reads (its row locks aside). */
const reads = (sql: Statement): boolean => /^\s*SELECT\b/i.test(typeof sql === 'string' ? sql : sql.text);

interface Tracked {
  /** Statements of the transaction: BEGIN goes first, before the first of them (and the rows left for later). */
  run: Run;
  /** A statement sent as it is, without BEGIN: on its own it is a transaction of its own. */
  raw: Run;
  /** Sends BEGIN now if it was not sent yet. */
  begin(): Promise<void>;
  /** Whether BEGIN was sent and answered: a transaction is open. */
  begun(): boolean;
  /** Whether a statement may have committed on its own (BEGIN refused): the batch is then never run again. */
  unsure(): boolean;
  /** Whether every statement asked for was handed to the connection: one sent now goes out behind them. */
  sent(): boolean;
  /** The first failure of the connection itself, if any. */
  lost(): unknown;
  /** Statements that wrote or failed so far: an operation that adds none changed nothing. */
  effects(): number;
  /** Writes the rows left for later now. */
  flush(): Promise<void>;
  /** The same, and the audit head locked in that statement: its row; null when no row was left (nothing done). */
  flushLockingHead(): Promise<LockedHeadRow | undefined | null>;
  /** The first statement that outlived its time or lock wait, if any: running the batch again would wait as long. */
  busy(): unknown;
}

export function createWriter(db: Db, log: AuditLog, options: { groupCommit: boolean; retries: number }): <T>(op: TxOp<T>) => Promise<T> {
  const queue: Op[] = [];
  let inFlight = false;
  // After a write on the known head found it moved (another replica appending), the next batches go the classic way,
  // more of them each time it happens again in a row: replicas that take turns do not each pay a wasted round trip.
  let classicFor = 0;
  let backoff = 1;

  /**
   * `run`, remembering the first failure of the connection itself: whether an operation lost it is asked of its
   * statements, never read from the error the operation threw (its own code may throw any text, or wrap theirs).
   */
  /** A statement the database gave up on in time (a timeout, a lock wait): not a deadlock, which a rerun resolves. */
  const isBusy = (e: unknown): boolean => {
    if ((e as { code?: unknown }).code === '40P01') return false;
    const f = db.fail(e, true);
    return f instanceof CountersignError && f.code === 'STORE_BUSY';
  };

  function tracked(c: Conn, rows?: RowQueue): Tracked {
    let lost: unknown;
    let busy: unknown;
    let effects = 0;
    let begun = false;
    let unsure = false;
    // Statements run was asked for that wait for the rows to go first: not yet handed to the connection.
    let held = 0;
    let beginning: Promise<void> | undefined;
    const raw: Run = (sql, values) =>
      c.run(sql, values).catch((e: unknown) => {
        effects++;
        if (lost === undefined && db.lost(e)) lost = e;
        if (busy === undefined && isBusy(e)) busy = e;
        throw e;
      }) as never;
    // BEGIN waits for the first statement: a batch whose work was all left to its last statement needs none (below).
    // It then goes out with that statement, unanswered (the pool's connections pipeline): one round trip for both.
    // A BEGIN refused on a connection that lives (PostgreSQL has no such refusal) would leave what was sent with it
    // committed on its own: its outcome is then unknown, never repeated (STORE_UNAVAILABLE).
    const begin = (): Promise<void> =>
      (beginning ??= raw('BEGIN').then(
        () => void (begun = true),
        (e: unknown) => {
          if (db.lost(e)) throw e;
          unsure = true;
          lost ??= new CountersignError('STORE_UNAVAILABLE', 'the database refused BEGIN: what was sent with it may have been written', { cause: db.redact(e instanceof Error ? e.message : String(e)) });
          throw lost;
        },
      ));
    const checked: Run = (sql, values) => {
      const began = begin();
      const result = raw(sql, values);
      return began.then(
        () => result,
        (e: unknown) => {
          result.catch(() => {});
          throw e;
        },
      ) as never;
    };
    // The rows left for later go first, so every statement sees the batch's writes in the order they were made. Their
    // write is no effect of the operation that happens to come next, unless it fails.
    const flush = async (): Promise<void> => {
      if (!rows?.pending()) return;
      try {
        await rows.flush(checked);
      } catch (e) {
        effects++; // a row that moved on, too: whoever comes next must not be judged clean
        throw e;
      }
    };
    const flushLockingHead = async (): Promise<LockedHeadRow | undefined | null> => {
      if (!rows?.pending()) return null;
      try {
        return await rows.flushLockingHead(checked);
      } catch (e) {
        effects++;
        throw e;
      }
    };
    // Handed to the connection before run returns when no rows wait (no await first): what the caller sends next, as
    // COMMIT behind the append, goes out after it.
    const run: Run = (sql, values) => {
      const send = () => {
        if (!reads(sql)) effects++;
        return checked(sql, values);
      };
      if (!rows?.pending()) return send() as never;
      held++;
      return flush().then(
        () => (held--, send()),
        (e: unknown) => {
          held--;
          throw e;
        },
      ) as never;
    };
    return { run, raw, begin, begun: () => begun, unsure: () => unsure, sent: () => held === 0, flush, flushLockingHead, lost: () => lost, busy: () => busy, effects: () => effects };
  }

  async function runOne(conn: Tracked, tx: AuditTx, op: Op, rows: RowQueue | undefined, alone: boolean): Promise<Outcome> {
    const mark = tx.mark();
    const before = conn.effects();
    try {
      return { ok: true, value: await op.run(conn.run, tx, rows) };
    } catch (error) {
      if (conn.lost() !== undefined) throw conn.lost();
      if (!alone && conn.busy() !== undefined) throw conn.busy();
      if (!alone && conn.effects() !== before) throw new Split();
      tx.restore(mark);
      return { ok: false, error: db.fail(error, true) };
    }
  }

  /**
   * One transaction for `ops`. First (`classic` false) with every operation's rows left for the batch, and BEGIN only
   * once a statement needs it: when the operations left all their work to the end and this process knows the audit
   * head, the rows and events then go in one statement on that head, which commits on its own (audit.ts
   * writeOnKnownHead; one round trip for the whole write). When the head or a row had moved on meanwhile, or anything
   * would split the batch, nothing of it was committed and it runs again the classic way: BEGIN with the rows left for
   * the batch and the head's lock, the append with COMMIT. `alone` (an operation run again after its batch failed): its
   * statements leave nothing for later, so what fails is its own statement's refusal.
   */
  async function transact(ops: Op[], classic = false, alone = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let c: Conn | undefined;
      let conn: Tracked | undefined;
      // A statement sent without BEGIN commits on its own: once sent, its outcome is unknown if its connection dies.
      let committing = false;
      // COMMIT, when it went out right behind the append.
      let commit: ReturnType<Run> | undefined;
      try {
        c = await db.connect();
        // Alone, nothing is deferred: an operation's statements fail in it, and it fails alone.
        const rows = alone ? undefined : deferredRows();
        conn = tracked(c, rows);
        const tx = log.begin(conn.run);
        const outcomes: Outcome[] = [];
        for (const op of ops) outcomes.push(await runOne(conn, tx, op, rows, alone));
        if (outcomes.some((o) => o.ok)) {
          try {
            if (tx.pending()) {
              let written: 'unknown' | 'moved' | 'refused' | 'written' = 'unknown';
              if (!classic && rows) {
                committing = !conn.begun();
                written = await tx.writeOnKnownHead(rows, conn.raw);
              }
              // A config changed: each operation alone says whose insert it refuses (no other replica's append to wait out).
              if (written === 'refused') throw new Split(true);
              if (written === 'moved') {
                classicFor = backoff;
                backoff = Math.min(backoff * 2, MAX_BACKOFF);
                throw new Split();
              }
              if (written === 'written') backoff = 1;
              // The batch's last rows and the audit head's lock share a round trip when there are events to write; the
              // append and COMMIT share the next (a failed append aborts the transaction: COMMIT then says ROLLBACK).
              if (written === 'unknown') {
                await tx.write(conn.flushLockingHead, () => {
                  if (!conn!.sent()) return; // the append waits behind rows: COMMIT must not pass it
                  commit = c!.run('COMMIT');
                  commit.catch(() => {});
                });
              }
            } else {
              await conn.flush();
            }
          } catch (error) {
            if (error instanceof Split) throw error;
            if (conn.lost() !== undefined) throw conn.lost();
            if (!alone && conn.busy() !== undefined) throw conn.busy();
            if (!alone) throw new Split();
            outcomes[0] = { ok: false, error: db.fail(error, true) };
          }
        }
        if (conn.begun()) {
          if (outcomes.some((o) => o.ok)) {
            const done = await (commit ?? c.run('COMMIT'));
            // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
            if (done.command !== 'COMMIT') throw new Error(`the transaction ended with ${done.command}, not COMMIT`);
          } else {
            await c.run('ROLLBACK');
          }
        }
        c.done();
        outcomes.forEach((o, i) => (o.ok ? ops[i]!.resolve(o.value) : ops[i]!.reject(o.error)));
        return;
      } catch (error) {
        log.abort();
        if (error instanceof Split && c) {
          // Nothing of the batch was committed: a transaction still open is rolled back, and the batch runs again.
          const ended = !conn?.begun() || (await c.run('ROLLBACK').then(() => true, () => false));
          c.done(!ended);
          if (!classic && !error.alone) await transact(ops, true);
          else for (const op of ops) await transact([op], true, true);
          return;
        }
        if (c) {
          const ended = !db.lost(error) && (!conn?.begun() || (await c.run('ROLLBACK').then(() => true, () => false)));
          c.done(!ended);
        }
        // A connection the server killed while it sat idle fails at BEGIN, before anything ran: take another.
        if (!conn?.begun() && !conn?.unsure() && !committing && c && db.retryable(error) && attempt < options.retries) continue;
        const failure = db.fail(error);
        for (const op of ops) op.reject(failure);
        return;
      }
    }
  }

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    const classic = classicFor > 0;
    if (classic) classicFor--;
    void transact(queue.splice(0, MAX_BATCH), classic).finally(() => {
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
