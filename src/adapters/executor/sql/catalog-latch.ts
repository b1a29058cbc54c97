/**
 * The latch between the session check and schema changes made through the gateway.
 *
 * The check (session-guard.ts) and the statement it lets run are two statements on the server, and in READ COMMITTED
 * each reads the catalogs as they are when it starts: a view replaced by another session between them (one calling
 * `lo_from_bytea`, `pg_terminate_backend`) ran under a verdict given to its old body. So every run the gateway wraps
 * first takes a transaction-level advisory lock of the database, before the check: shared, or exclusive when the
 * statement changes the catalogs. A schema change through the gateway then commits before a check starts (which sees
 * it) or after the statement it checked has ended, never between the two. A read in a client's block takes it inside
 * the gateway's savepoint, which lets it go; a write in a block keeps it to the block's end, as PostgreSQL keeps the
 * write's own locks.
 */
import type { SqlFacts } from '../../../core/facts.ts';

/** The advisory lock's two keys ("CSGL", 1): one lock per database, as advisory locks are. */
export const LATCH_KEYS = [1129531212, 1] as const;

export const LATCH_SHARED_SQL = `SELECT pg_catalog.pg_advisory_xact_lock_shared(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`;
export const LATCH_EXCLUSIVE_SQL = `SELECT pg_catalog.pg_advisory_xact_lock(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`;

/** Statement types that read or change rows, not the schema. */
const DATA_TYPES: ReadonlySet<string> = new Set(['select', 'insert', 'update', 'delete', 'merge', 'copy', 'show', 'explain', 'set']);

/**
 * Whether a run changes the catalogs by what it says, and so takes the latch exclusive: a statement of any type but
 * those that read or change rows (DDL, GRANT, DO, CALL, transaction control mixed in, a type a later parser adds).
 * Functions called by a statement that reads or changes rows do not count: serializing every call of an application's
 * functions with every read would cost more than it closes, since their bodies are made by DDL, which takes it.
 *
 * @example
 * changesCatalogs({ statements: [{ type: 'create', tables: ['v'], hasWhere: null }] }); // true
 * changesCatalogs({ statements: [{ type: 'insert', tables: ['t'], hasWhere: null }] }); // false
 */
export function changesCatalogs(facts: Pick<SqlFacts, 'statements'>): boolean {
  return facts.statements.some((s) => !DATA_TYPES.has(s.type));
}

/**
 * The gateway's step (wire-own.ts) that takes the latch for a run: shared for a read, or a write that changes rows;
 * exclusive for one that changes the catalogs.
 *
 * @example
 * latchStep(true, facts); // 'latch_shared'
 */
export function latchStep(readOnly: boolean, facts: Pick<SqlFacts, 'statements'>): 'latch_shared' | 'latch' {
  return !readOnly && changesCatalogs(facts) ? 'latch' : 'latch_shared';
}

/**
 * The SQL that takes the latch for a REST run, and whether it goes before the transaction. In REPEATABLE READ (a
 * write whose undo is captured) the transaction's snapshot is that of its first query: a latch taken there, after a
 * wait for a schema change to commit, would leave the check reading the catalogs as they were before it. So it is
 * taken at session level before the transaction, and let go by the DISCARD ALL or the close that ends every run.
 *
 * @example
 * restLatch('shared', false); // { sql: 'SELECT pg_catalog.pg_advisory_xact_lock_shared(…)', before: false }
 */
export function restLatch(mode: 'shared' | 'exclusive', repeatableRead: boolean): { sql: string; before: boolean } {
  const fn = `pg_advisory${repeatableRead ? '' : '_xact'}_lock${mode === 'shared' ? '_shared' : ''}`;
  return { sql: `SELECT pg_catalog.${fn}(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`, before: repeatableRead };
}
