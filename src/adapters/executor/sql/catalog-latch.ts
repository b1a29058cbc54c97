/**
 * The latch between the session check and schema changes made through the gateway.
 *
 * The check (session-guard.ts) and the statement it lets run are two statements on the server, and in READ COMMITTED
 * each reads the catalogs as they are when it starts: a view replaced by another session between them (one calling
 * `lo_from_bytea`, `pg_terminate_backend`, `dblink_exec`) ran under a verdict given to its old body. So every run the
 * gateway wraps first takes a transaction-level advisory lock of the database, before the check: shared, or exclusive
 * when the statement may change the catalogs. A schema change through the gateway then commits before a check starts
 * (which sees it) or after the statement it checked has ended, never between the two. A read in a client's block takes
 * it inside the gateway's savepoint, which lets it go; a write in a block keeps it to the block's end, as PostgreSQL
 * keeps the write's own locks.
 */
import type { SqlFacts } from '../../../core/facts.ts';

/** The advisory lock's two keys ("CSGL", 1): one per database, as advisory locks are. */
export const LATCH_KEYS = [1129531212, 1] as const;

export const LATCH_SHARED_SQL = `SELECT pg_catalog.pg_advisory_xact_lock_shared(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`;
export const LATCH_EXCLUSIVE_SQL = `SELECT pg_catalog.pg_advisory_xact_lock(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`;

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

/** Statement types that change rows, not the schema (when every function they call is known free of effects). */
const DATA_TYPES: ReadonlySet<string> = new Set(['select', 'insert', 'update', 'delete', 'merge', 'copy', 'show', 'explain', 'set']);

/**
 * Whether a run may change the catalogs, and so takes the latch exclusive: a statement of any type but those that read
 * or change rows (DDL, GRANT, DO, CALL, transaction control mixed in, a type a later parser adds), or a call of a
 * function not known free of effects (its body may run DDL).
 *
 * @example
 * changesCatalogs({ statements: [{ type: 'create', tables: ['v'], hasWhere: null }], functions: [], … }, allowed); // true
 * changesCatalogs({ statements: [{ type: 'insert', tables: ['t'], hasWhere: null }], functions: [], … }, allowed);  // false
 */
export function changesCatalogs(facts: Pick<SqlFacts, 'statements' | 'functions'>, allowed: ReadonlySet<string>): boolean {
  return facts.statements.some((s) => !DATA_TYPES.has(s.type)) || facts.functions.some((f) => !allowed.has(f));
}

/**
 * The gateway's step (wire-own.ts) that takes the latch for a run: shared for a read, or a write that changes rows;
 * exclusive for one that may change the catalogs.
 *
 * @example
 * latchStep(true, facts, allowed); // 'latch_shared'
 */
export function latchStep(readOnly: boolean, facts: Pick<SqlFacts, 'statements' | 'functions'>, allowed: ReadonlySet<string>): 'latch_shared' | 'latch' {
  return !readOnly && changesCatalogs(facts, allowed) ? 'latch' : 'latch_shared';
}
