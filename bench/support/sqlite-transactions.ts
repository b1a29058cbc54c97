/**
 * Watches the transactions the store's group commit runs, from outside the
 * store: it wraps better-sqlite3's `Database.prototype.exec` (the group
 * commit issues BEGIN IMMEDIATE, SAVEPOINT op, RELEASE op and COMMIT through
 * `exec`) for the duration of one phase, in this process only.
 *
 * It reports how many operations (savepoints) each committed transaction
 * held and how long the write transactions lasted in all, so the plain-insert
 * baseline can replay exactly the batches the store used. The wrapper adds
 * one function call and a string comparison per `exec`: ~4 per operation.
 */
import Database from 'better-sqlite3';

export interface TransactionLog {
  /** Operations (savepoints) in each committed transaction, in commit order. */
  readonly opsPerCommit: number[];
  /** Wall milliseconds spent between BEGIN IMMEDIATE and the end of COMMIT, summed. */
  readonly inTransactionMs: number;
  /** Transactions that ended in ROLLBACK. */
  readonly rolledBack: number;
}

/**
 * @example
 * const watch = watchTransactions();
 * await runPhase();
 * const log = watch.stop(); // log.opsPerCommit: [50, 50, 49, …]
 */
export function watchTransactions(): { stop(): TransactionLog } {
  const proto = Database.prototype as unknown as { exec(this: Database.Database, sql: string): Database.Database };
  const original = proto.exec;
  const opsPerCommit: number[] = [];
  let inTransactionMs = 0;
  let rolledBack = 0;
  let ops = 0;
  let began = 0;
  proto.exec = function exec(this: Database.Database, sql: string) {
    switch (sql) {
      case 'BEGIN IMMEDIATE': {
        ops = 0;
        began = performance.now();
        return original.call(this, sql);
      }
      case 'SAVEPOINT op':
        ops++;
        return original.call(this, sql);
      case 'COMMIT': {
        const r = original.call(this, sql);
        inTransactionMs += performance.now() - began;
        opsPerCommit.push(ops);
        return r;
      }
      case 'ROLLBACK':
        rolledBack++;
        return original.call(this, sql);
      default:
        return original.call(this, sql);
    }
  };
  return {
    stop() {
      proto.exec = original;
      return { opsPerCommit, inTransactionMs, rolledBack };
    },
  };
}
