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
  // The group commit runs prepared statements (made before this watch starts): hook their common prototype.
  const probe = new Database(':memory:');
  const stProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run(this: { source: string }, ...args: unknown[]): unknown };
  probe.close();
  const originalRun = stProto.run;
  const opsPerCommit: number[] = [];
  let inTransactionMs = 0;
  let rolledBack = 0;
  let ops = 0;
  let began = 0;
  function seen<T>(sql: string, call: () => T): T {
    switch (sql) {
      case 'BEGIN IMMEDIATE':
        ops = 0;
        began = performance.now();
        return call();
      case 'SAVEPOINT op':
        ops++;
        return call();
      case 'COMMIT': {
        const r = call();
        inTransactionMs += performance.now() - began;
        opsPerCommit.push(ops);
        return r;
      }
      case 'ROLLBACK':
        rolledBack++;
        return call();
      default:
        return call();
    }
  }
  proto.exec = function exec(this: Database.Database, sql: string) {
    return seen(sql, () => original.call(this, sql));
  };
  stProto.run = function run(this: { source: string }, ...args: unknown[]) {
    return seen(this.source, () => originalRun.apply(this, args));
  };
  return {
    stop() {
      proto.exec = original;
      stProto.run = originalRun;
      return { opsPerCommit, inTransactionMs, rolledBack };
    },
  };
}
