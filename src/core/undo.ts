/**
 * Undo of an approved SQL UPDATE or DELETE: the rows it changed, as they were
 * before (and, for an UPDATE, as it left them), captured in the same
 * transaction as the change and stored with the request. A revert is a new
 * SQL request whose one statement puts them back — an UPDATE only where the
 * row still equals the after-image, an INSERT of deleted rows whose key is
 * still free, a DELETE of inserted rows still as inserted (the undo of a
 * DELETE's revert) — and fails, changing nothing, naming the keys of the rows that
 * changed since. Row values are kept for the revert only: the audit log gets
 * the table, the key columns and the count; no view shows them.
 *
 * A revert that ran has an undo of its own, read from what its statement
 * actually wrote (inverseUndo): reverting an UPDATE's revert sets the rows
 * back to what the revert found; reverting a DELETE's revert (an INSERT)
 * deletes the rows it inserted, where they are still as inserted; and so on
 * down a chain.
 */
import { canonicalJson } from './digest.ts';

/**
 * One changed row: its key (the primary key's columns), and the row as to_jsonb gave it before the change (UPDATE,
 * DELETE) and after it (UPDATE; INSERT, which only a revert of a DELETE is).
 */
export interface UndoRow {
  readonly key: Readonly<Record<string, unknown>>;
  readonly before?: Readonly<Record<string, unknown>>;
  readonly after?: Readonly<Record<string, unknown>>;
}

/** What the run of an approved write left for its undo. */
export type UndoOutcome =
  | {
      readonly status: 'captured';
      /** What the change did: an UPDATE or DELETE approved as such, or the INSERT a revert of a DELETE is. */
      readonly command: 'UPDATE' | 'DELETE' | 'INSERT';
      /** The table, quoted as Postgres reads it (`"public"."accounts"`). */
      readonly table: string;
      readonly keyColumns: readonly string[];
      /** The columns a revert writes: all but generated ones. */
      readonly columns: readonly string[];
      readonly rows: readonly UndoRow[];
    }
  | { readonly status: 'none'; readonly reason: string };

export type CapturedUndo = Extract<UndoOutcome, { status: 'captured' }>;

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
 * rows that changed since (so nothing is changed). It returns the count and
 * each restored row's key and image as it wrote it (or deleted it), which
 * inverseUndo turns into the revert's own undo.
 *
 * @example
 * revertSql({ status: 'captured', command: 'DELETE', table: '"t"', keyColumns: ['id'], columns: ['id', 'n'], rows: [{ key: { id: 1 }, before: { id: 1, n: 2 } }] });
 */
export function revertSql(u: CapturedUndo): string {
  // An UPDATE puts back only the columns it changed in some row (never the key, which it did not change).
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const changed = u.columns.filter((c) => !u.keyColumns.includes(c) && u.rows.some((r) => !same(r.before?.[c], r.after?.[c])));
  // Nothing changed (SET n = n): one column set to what it holds keeps the statement valid, and still checks every row.
  const nonKey = u.columns.filter((c) => !u.keyColumns.includes(c));
  const cols = (u.command === 'UPDATE' ? (changed.length > 0 ? changed : nonKey.slice(0, 1)) : u.columns).map(quoteIdent);
  const keyOf = (alias: string): string => `jsonb_build_object(${u.keyColumns.map((k) => `${literal(k)}, ${alias}.${quoteIdent(k)}`).join(', ')})`;
  const values = u.rows.map((r) => `(${jsonb(r.key)}, ${jsonb(r.before ?? null)}, ${jsonb(r.after ?? null)})`).join(',\n  ');
  const change =
    u.command === 'UPDATE'
      ? `UPDATE ${u.table} AS cur SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM jsonb_populate_record(NULL::${u.table}, e.before) AS r)
  FROM expected AS e WHERE ${keyOf('cur')} = e.key AND to_jsonb(cur.*) = e.after
  RETURNING e.key, to_jsonb(cur.*)`
      : u.command === 'DELETE'
        ? `INSERT INTO ${u.table} AS cur (${cols.join(', ')}) OVERRIDING SYSTEM VALUE
  SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM expected AS e, jsonb_populate_record(NULL::${u.table}, e.before) AS r
  ON CONFLICT DO NOTHING
  RETURNING ${keyOf('cur')}, to_jsonb(cur.*)`
        // An INSERT (a DELETE's revert) is undone by deleting each row it inserted, only where it is still as inserted.
        : `DELETE FROM ${u.table} AS cur USING expected AS e WHERE ${keyOf('cur')} = e.key AND to_jsonb(cur.*) = e.after
  RETURNING e.key, to_jsonb(cur.*)`;
  // The CASE's error branch reads the restored rows, so it is never folded into a constant and runs only on a conflict.
  return `WITH expected(key, before, after) AS (VALUES
  ${values}
), restored(key, image) AS (
  ${change}
)
SELECT CASE WHEN (SELECT count(*) FROM restored) = ${u.rows.length} THEN ${u.rows.length}
  ELSE (${literal(UNDO_CONFLICT_MARKER)} || (SELECT string_agg(e.key::text, ' ') FROM expected AS e WHERE e.key NOT IN (SELECT key FROM restored)))::int
END AS restored_rows, (SELECT jsonb_agg(jsonb_build_array(r.key, r.image)) FROM restored AS r) AS restored_images`;
}

/**
 * The undo of a revert that ran, from what its statement returned (`restored_images`: each row's key and image as
 * the revert wrote or deleted it). Undefined unless every row of `u` came back exactly once: the caller then keeps
 * no undo rather than a guessed one. An UPDATE's revert found each row equal to `after` (its statement checks it),
 * so that is the row to put back.
 *
 * @example
 * inverseUndo(u, [[{ id: 1 }, { id: 1, n: 2 }]]); // { status: 'captured', command: 'UPDATE', rows: [{ key: { id: 1 }, before: u.rows[0].after, after: { id: 1, n: 2 } }], … }
 */
export function inverseUndo(u: CapturedUndo, images: unknown): CapturedUndo | undefined {
  if (!Array.isArray(images) || images.length !== u.rows.length) return undefined;
  const byKey = new Map<string, Readonly<Record<string, unknown>>>();
  for (const pair of images) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isRecord(pair[0]) || !isRecord(pair[1])) return undefined;
    byKey.set(canonicalJson(pair[0]), pair[1]);
  }
  const rows: UndoRow[] = [];
  for (const r of u.rows) {
    const image = byKey.get(canonicalJson(r.key));
    if (!image) return undefined;
    if (u.command === 'UPDATE') {
      if (!r.after) return undefined;
      rows.push({ key: r.key, before: r.after, after: image });
    } else rows.push(u.command === 'DELETE' ? { key: r.key, after: image } : { key: r.key, before: image });
  }
  if (byKey.size !== rows.length) return undefined;
  const command = u.command === 'UPDATE' ? 'UPDATE' : u.command === 'DELETE' ? 'INSERT' : 'DELETE';
  return { status: 'captured', command, table: u.table, keyColumns: u.keyColumns, columns: u.columns, rows };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
