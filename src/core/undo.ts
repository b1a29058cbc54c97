/**
 * Undo of an approved SQL UPDATE or DELETE: the rows it changed, as they were
 * before (and, for an UPDATE, as it left them), captured in the same
 * transaction as the change and stored with the request. A revert is a new
 * SQL request whose one statement puts them back — an UPDATE only where the
 * row still equals the after-image, an INSERT of deleted rows whose key is
 * still free — and fails, changing nothing, naming the keys of the rows that
 * changed since. Row values are kept for the revert only: the audit log gets
 * the table, the key columns and the count; no view shows them.
 */

/** One changed row: its key (the primary key's columns), and the row before (and after an UPDATE) as to_jsonb gave it. */
export interface UndoRow {
  readonly key: Readonly<Record<string, unknown>>;
  readonly before: Readonly<Record<string, unknown>>;
  readonly after?: Readonly<Record<string, unknown>>;
}

/** What the run of an approved write left for its undo. */
export type UndoOutcome =
  | {
      readonly status: 'captured';
      readonly command: 'UPDATE' | 'DELETE';
      /** The table, quoted as Postgres reads it (`"public"."accounts"`). */
      readonly table: string;
      readonly keyColumns: readonly string[];
      /** The columns a revert writes: all but generated ones. */
      readonly columns: readonly string[];
      readonly rows: readonly UndoRow[];
    }
  | { readonly status: 'none'; readonly reason: string };

/** The marker the revert statement's conflict error carries; the connection maps it to UNDO_CONFLICT. */
export const UNDO_CONFLICT_MARKER = 'countersign undo conflict, rows changed since: ';

/**
 * What the audit log keeps: table, key columns and count, never a value.
 *
 * @example
 * undoAuditData(u); // { status: 'captured', command: 'UPDATE', table: '"public"."t"', keyColumns: ['id'], rows: 2 }
 */
export function undoAuditData(u: UndoOutcome): Record<string, unknown> {
  if (u.status === 'none') return { status: u.status, reason: u.reason };
  return { status: u.status, command: u.command, table: u.table, keyColumns: [...u.keyColumns], rows: u.rows.length };
}

/** What every viewer may see of it: no row, no key. */
export function undoSummary(u: UndoOutcome): Record<string, unknown> {
  return u.status === 'none' ? { available: false, reason: u.reason } : { available: true, command: u.command, table: u.table, rows: u.rows.length };
}

/** A SQL identifier, always quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal (standard_conforming_strings is pinned on). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const jsonb = (v: unknown): string => `${literal(JSON.stringify(v))}::jsonb`;

/**
 * The one statement that reverts a captured change, checking in its own
 * statement that every row was restored; else it fails with the keys of the
 * rows that changed since (so nothing is changed).
 *
 * @example
 * revertSql({ status: 'captured', command: 'DELETE', table: '"t"', keyColumns: ['id'], columns: ['id', 'n'], rows: [{ key: { id: 1 }, before: { id: 1, n: 2 } }] });
 */
export function revertSql(u: Extract<UndoOutcome, { status: 'captured' }>): string {
  // An UPDATE puts back only the columns it changed in some row (never the key, which it did not change).
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const changed = u.columns.filter((c) => !u.keyColumns.includes(c) && u.rows.some((r) => !same(r.before[c], r.after?.[c])));
  // Nothing changed (SET n = n): one column set to what it holds keeps the statement valid, and still checks every row.
  const nonKey = u.columns.filter((c) => !u.keyColumns.includes(c));
  const cols = (u.command === 'UPDATE' ? (changed.length > 0 ? changed : nonKey.slice(0, 1)) : u.columns).map(quoteIdent);
  const keyOf = (alias: string): string => `jsonb_build_object(${u.keyColumns.map((k) => `${literal(k)}, ${alias}.${quoteIdent(k)}`).join(', ')})`;
  const values = u.rows.map((r) => `(${jsonb(r.key)}, ${jsonb(r.before)}, ${jsonb(r.after ?? null)})`).join(',\n  ');
  const change =
    u.command === 'UPDATE'
      ? `UPDATE ${u.table} AS cur SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM jsonb_populate_record(NULL::${u.table}, e.before) AS r)
  FROM expected AS e WHERE ${keyOf('cur')} = e.key AND to_jsonb(cur.*) = e.after
  RETURNING e.key`
      : `INSERT INTO ${u.table} AS cur (${cols.join(', ')}) OVERRIDING SYSTEM VALUE
  SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM expected AS e, jsonb_populate_record(NULL::${u.table}, e.before) AS r
  ON CONFLICT DO NOTHING
  RETURNING ${keyOf('cur')}`;
  // The CASE's error branch reads the restored rows, so it is never folded into a constant and runs only on a conflict.
  return `WITH expected(key, before, after) AS (VALUES
  ${values}
), restored(key) AS (
  ${change}
)
SELECT CASE WHEN (SELECT count(*) FROM restored) = ${u.rows.length} THEN ${u.rows.length}
  ELSE (${literal(UNDO_CONFLICT_MARKER)} || (SELECT string_agg(e.key::text, ' ') FROM expected AS e WHERE e.key NOT IN (SELECT key FROM restored)))::int
END AS restored_rows`;
}
