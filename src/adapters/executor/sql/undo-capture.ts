/**
 * Capture of an approved write's before-image (core/undo.ts), in the
 * transaction that runs it. Postgres before 18 has no `RETURNING old.*`, so:
 * the transaction is REPEATABLE READ, and the statement is run as
 *
 *   WITH changed AS (<the statement> RETURNING to_jsonb(t.*),
 *                    (SELECT to_jsonb(b.*) FROM t AS b WHERE <key of b> = <key of t>))
 *   SELECT (SELECT count(*) FROM changed), * FROM changed LIMIT maxUndoRows + 1
 *
 * A sub-select of a statement sees the snapshot the statement started with,
 * which in REPEATABLE READ is the one every changed row was read in (a row
 * another transaction changed meanwhile fails the statement with a
 * serialization error instead of being re-read): the sub-select returns
 * exactly the version the statement changed. Keys are looked up by the new
 * row's key, so an UPDATE that sets a key column has no undo. For a DELETE the
 * RETURNING row is the deleted row itself.
 *
 * Only one plain UPDATE or DELETE is captured: no WITH, FROM/USING, RETURNING,
 * WHERE CURRENT OF, several statements; a table with a primary key. Anything
 * else runs as before, with the reason it has no undo.
 */
import { quoteIdent } from '../../../core/undo.ts';
import { sqlParser } from './facts.ts';

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A statement undo can be captured for, from the parse tree. */
export interface UndoTarget {
  readonly command: 'UPDATE' | 'DELETE';
  /** The table quoted as to_regclass reads it. */
  readonly relation: string;
  /** The name the statement's own clauses use for the table: its alias, else its name. */
  readonly ref: string;
  /** The statement's text without a trailing semicolon. */
  readonly text: string;
  /** Columns an UPDATE sets. */
  readonly setColumns: readonly string[];
}

export type UndoScope = { readonly ok: true; readonly target: UndoTarget } | { readonly ok: false; readonly reason: string };

/**
 * @example
 * undoScope('UPDATE accounts SET n = 1 WHERE id = 2'); // { ok: true, target: { command: 'UPDATE', relation: '"accounts"', ref: 'accounts', … } }
 * undoScope('DELETE FROM a USING b WHERE a.id = b.id'); // { ok: false, reason: 'it joins other tables (USING)' }
 */
export function undoScope(sql: string): UndoScope {
  let tree: { stmts?: { stmt?: Obj; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = sqlParser().parseSync(sql) as typeof tree;
  } catch {
    return { ok: false, reason: 'the SQL cannot be analysed' };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return { ok: false, reason: 'it holds several statements' };
  const s = stmts[0]!;
  const [node, p] = Object.entries(s.stmt ?? {})[0] ?? [];
  if ((node !== 'UpdateStmt' && node !== 'DeleteStmt') || !isObj(p)) return { ok: false, reason: 'only a single UPDATE or DELETE has an undo' };
  if (p['withClause']) return { ok: false, reason: 'it has a WITH clause' };
  if (Array.isArray(p['fromClause']) && p['fromClause'].length > 0) return { ok: false, reason: 'it joins other tables (FROM)' };
  if (Array.isArray(p['usingClause']) && p['usingClause'].length > 0) return { ok: false, reason: 'it joins other tables (USING)' };
  if (Array.isArray(p['returningList']) && p['returningList'].length > 0) return { ok: false, reason: 'it already has RETURNING' };
  if (isObj(p['whereClause']) && 'CurrentOfExpr' in p['whereClause']) return { ok: false, reason: 'it uses WHERE CURRENT OF' };
  const rel = p['relation'];
  if (!isObj(rel) || typeof rel['relname'] !== 'string') return { ok: false, reason: 'the SQL cannot be analysed' };
  if (rel['inh'] === false) return { ok: false, reason: 'it uses ONLY' };
  const parts = [rel['schemaname'], rel['relname']].filter((x): x is string => typeof x === 'string');
  if (rel['catalogname'] || parts[0] === 'pg_temp' || rel['relpersistence'] === 't') return { ok: false, reason: 'not a table of the connection' };
  const alias = isObj(rel['alias']) && typeof rel['alias']['aliasname'] === 'string' ? rel['alias']['aliasname'] : undefined;
  const setColumns = (Array.isArray(p['targetList']) ? p['targetList'] : [])
    .map((t: unknown) => (isObj(t) && isObj(t['ResTarget']) ? t['ResTarget']['name'] : undefined))
    .filter((n): n is string => typeof n === 'string');
  const bytes = Buffer.from(sql, 'utf8');
  const start = s.stmt_location ?? 0;
  const text = withoutTrailingSemicolons((s.stmt_len ? bytes.subarray(start, start + s.stmt_len) : bytes.subarray(start)).toString('utf8').trim());
  return {
    ok: true,
    target: { command: node === 'UpdateStmt' ? 'UPDATE' : 'DELETE', relation: parts.map(quoteIdent).join('.'), ref: alias ?? (rel['relname'] as string), text, setColumns },
  };
}

/**
 * `text` without its trailing run of `;`: what `/;+$/` removes, in linear time (that pattern, tried from every `;`
 * of a long run followed by anything else, took quadratic time on a statement the agent wrote).
 */
export function withoutTrailingSemicolons(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3b) end--;
  return text.slice(0, end);
}

/**
 * The table's primary key and writable columns, read in the run's transaction. Every function, operator and
 * catalog qualified: the session's search_path may hold a function that an unqualified call would pick over the
 * built-in (`public.unnest(int2vector)` is an exact match for `indkey`, which `pg_catalog.unnest(anyarray)` is not).
 */
const EQ = 'OPERATOR(pg_catalog.=)';
export const UNDO_TABLE_SQL = `SELECT c.relkind::pg_catalog.text AS kind,
  ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index i CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_catalog.pg_attribute a ON a.attrelid ${EQ} i.indrelid AND a.attnum ${EQ} k.attnum
        WHERE i.indrelid ${EQ} c.oid AND i.indisprimary ORDER BY k.n) AS keys,
  ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a WHERE a.attrelid ${EQ} c.oid AND a.attnum OPERATOR(pg_catalog.>) 0
        AND NOT a.attisdropped AND a.attgenerated ${EQ} '' ORDER BY a.attnum) AS columns
FROM pg_catalog.pg_class c WHERE c.oid ${EQ} pg_catalog.to_regclass($1::pg_catalog.text)`;

export interface UndoTableRow {
  kind: string;
  keys: string[];
  columns: string[];
}

/** Why the table as the server holds it has no undo, or undefined. */
export function undoTableRefusal(row: UndoTableRow | undefined, target: UndoTarget): string | undefined {
  if (!row) return 'its table was not found';
  if (row.kind !== 'r' && row.kind !== 'p') return 'it does not change a plain table';
  if (row.keys.length === 0) return 'its table has no primary key';
  const setKey = target.setColumns.find((c) => row.keys.includes(c));
  if (setKey !== undefined) return `it sets the primary key column ${setKey}`;
  return undefined;
}

/**
 * The statement rewritten to return what undo needs, at most `limit` rows of it, and the count of all.
 *
 * @example
 * captureSql(target, ['id'], 1001);
 */
export function captureSql(target: UndoTarget, keys: readonly string[], limit: number): string {
  const ref = quoteIdent(target.ref);
  const b = 'countersign_before';
  const before =
    target.command === 'DELETE'
      ? `pg_catalog.to_jsonb(${ref}.*)`
      // Built-ins named in pg_catalog: a same-named function of the search_path cannot stand in for them.
      : `(SELECT pg_catalog.to_jsonb(${b}.*) FROM ${target.relation} AS ${b} WHERE ${keys.map((k) => `${b}.${quoteIdent(k)} = ${ref}.${quoteIdent(k)}`).join(' AND ')})`;
  // The newline ends a trailing -- comment; RETURNING is reserved, so it cannot join the statement's last expression.
  return `WITH countersign_changed AS (${target.text}
RETURNING ${before} AS before, pg_catalog.to_jsonb(${ref}.*) AS after)
SELECT (SELECT pg_catalog.count(*) FROM countersign_changed)::int AS total, before, after FROM countersign_changed LIMIT ${limit}`;
}

/** The parse of the rewritten statement: one SELECT over one CTE holding the same kind of statement with our two RETURNING items. */
export function captureShapeOk(sql: string, command: 'UPDATE' | 'DELETE'): boolean {
  try {
    const tree = sqlParser().parseSync(sql) as { stmts?: { stmt?: Obj }[] };
    if (tree.stmts?.length !== 1) return false;
    const sel = tree.stmts[0]?.stmt?.['SelectStmt'];
    const ctes = isObj(sel) && isObj(sel['withClause']) ? sel['withClause']['ctes'] : undefined;
    if (!Array.isArray(ctes) || ctes.length !== 1) return false;
    const cte = isObj(ctes[0]) ? ctes[0]['CommonTableExpr'] : undefined;
    const q = isObj(cte) && isObj(cte['ctequery']) ? cte['ctequery'][command === 'UPDATE' ? 'UpdateStmt' : 'DeleteStmt'] : undefined;
    return isObj(q) && Array.isArray(q['returningList']) && q['returningList'].length === 2 && !q['withClause'];
  } catch {
    return false;
  }
}
