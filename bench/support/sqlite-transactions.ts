/**
 * Watches the transactions the store's group commit runs, from outside the
 * store: it wraps better-sqlite3's `Database.prototype.exec` and the
 * prepared statements' `run` (the group commit runs BEGIN IMMEDIATE and
 * COMMIT, the store its row inserts) for the duration of one phase, in this
 * process only.
 *
 * It reports how many audit event rows each committed transaction inserted
 * and how long the write transactions lasted in all, so the plain-insert
 * baseline can replay exactly the batches the store used. The wrapper adds
 * one function call and a string comparison per statement run.
 */
import Database from 'better-sqlite3';

export interface TransactionLog {
  /** Rows inserted into audit_events by each committed transaction, in commit order. */
  readonly eventsPerCommit: number[];
  /** Wall milliseconds spent between BEGIN IMMEDIATE and the end of COMMIT, summed. */
  readonly inTransactionMs: number;
  /** Transactions that ended in ROLLBACK. */
  readonly rolledBack: number;
}

/**
 * @example
 * const watch = watchTransactions();
 * await runPhase();
 * const log = watch.stop(); // log.eventsPerCommit: [74, 75, 73, …]
 */
const INSERT_EVENT = 'INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?)';

export function watchTransactions(): { stop(): TransactionLog } {
  const proto = Database.prototype as unknown as { exec(this: Database.Database, sql: string): Database.Database };
  const original = proto.exec;
  // The group commit runs prepared statements (made before this watch starts): hook their common prototype.
  const probe = new Database(':memory:');
  const stProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run(this: { source: string }, ...args: unknown[]): unknown };
  probe.close();
  const originalRun = stProto.run;
  const eventsPerCommit: number[] = [];
  let inTransactionMs = 0;
  let rolledBack = 0;
  let events = 0;
  let began = 0;
  function seen<T>(sql: string, call: () => T): T {
    switch (sql) {
      case 'BEGIN IMMEDIATE':
        events = 0;
        began = performance.now();
        return call();
      case INSERT_EVENT:
        events++;
        return call();
      case 'COMMIT': {
        const r = call();
        inTransactionMs += performance.now() - began;
        eventsPerCommit.push(events);
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
      return { eventsPerCommit, inTransactionMs, rolledBack };
    },
  };
}
