/**
 * Which held writes may be previewed, from the parse tree alone: an allow-list,
 * because a preview runs an agent's SQL before any human approved it, and only
 * what a rollback undoes in full may run then. That is UPDATE and DELETE with
 * nothing inside them but reads, calling only functions known free of effects.
 * Everything else is refused with a reason the card shows: INSERT (a sequence
 * default advances even on rollback, and proving none is involved is not
 * cheap), MERGE, DDL, COPY, transaction control, `SET col = DEFAULT`, a
 * data-modifying WITH, an operator named outside pg_catalog, a call of anything
 * not on the allow-list (nextval, public.f). What the server holds behind the
 * names (triggers, rules, constraints) is checked in the preview's own
 * transaction (preview-check.ts).
 */
import { CountersignError } from '../../../core/errors.ts';
import { analyseSql, sqlParser, type SqlFactsOptions, type SqlNameUses } from './facts.ts';
import { quotedName } from './invocations.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { statementType } from './statement-types.ts';

/** One top-level statement to preview. */
export interface PreviewTarget {
  readonly command: 'UPDATE' | 'DELETE';
  /** The target table as written, for the card. */
  readonly table: string;
  /** The same, quoted as `to_regclass` reads it, for the server-side check. */
  readonly relation: string;
  /** The statement's own text, for its EXPLAIN. */
  readonly text: string;
}

export type PreviewScope = { readonly ok: true; readonly targets: readonly PreviewTarget[]; readonly names: SqlNameUses } | { readonly ok: false; readonly reason: string };

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a top-level statement of another type is not previewed. */
function refusedType(node: string, payload: Obj): string {
  const type = statementType(node, payload as never);
  if (node === 'InsertStmt') return 'an INSERT may advance a sequence, which a rollback does not undo';
  if (node === 'TransactionStmt') return 'it holds transaction control';
  if (node === 'CopyStmt') return 'COPY reaches outside the transaction';
  if (node === 'MergeStmt') return 'MERGE may insert, and an insert may advance a sequence';
  if (node === 'SelectStmt') return 'only UPDATE and DELETE statements are previewed (it holds a SELECT)';
  return `${type.toUpperCase().replaceAll('_', ' ')} is not previewed: only UPDATE and DELETE, whose every effect a rollback undoes`;
}

/**
 * @example
 * previewScope('UPDATE accounts SET n = n + 1 WHERE id < 3', {}); // { ok: true, targets: [{ command: 'UPDATE', table: 'accounts', … }], names }
 * previewScope("UPDATE t SET id = nextval('s')", {}); // { ok: false, reason: 'calls pg_catalog.nextval, which could act outside the transaction' }
 */
export function previewScope(sql: string, options: SqlFactsOptions): PreviewScope {
  let analysed;
  try {
    analysed = analyseSql(sql, options);
  } catch (e) {
    if (e instanceof CountersignError) return { ok: false, reason: 'the SQL cannot be analysed' };
    throw e;
  }
  const allowed = new Set([...READ_ONLY_FUNCTIONS, ...(options.readOnlyFunctions ?? [])]);
  const unknown = analysed.facts.functions.filter((f) => !allowed.has(f));
  if (unknown.length > 0) return { ok: false, reason: `calls ${unknown.join(', ')}, which could act outside the transaction` };
  const tree = sqlParser().parseSync(sql) as { stmts?: { stmt?: Obj; stmt_location?: number; stmt_len?: number }[] };
  const bytes = Buffer.from(sql, 'utf8');
  const targets: PreviewTarget[] = [];
  for (const s of tree.stmts ?? []) {
    const [node, payload] = Object.entries(s.stmt ?? {})[0] ?? [];
    if (!node || !isObj(payload)) return { ok: false, reason: 'the SQL cannot be analysed' };
    if (node !== 'UpdateStmt' && node !== 'DeleteStmt') return { ok: false, reason: refusedType(node, payload) };
    // Its rows would all come back to the gateway before any approval: a DELETE … RETURNING * of a large table.
    if (Array.isArray(payload['returningList']) && payload['returningList'].length > 0) return { ok: false, reason: 'it returns rows (RETURNING), which a preview does not fetch' };
    const inner = innerProblem(payload);
    if (inner) return { ok: false, reason: inner };
    const rel = payload['relation'];
    if (!isObj(rel) || typeof rel['relname'] !== 'string') return { ok: false, reason: 'the SQL cannot be analysed' };
    const parts = [rel['catalogname'], rel['schemaname'], rel['relname']].filter((p): p is string => typeof p === 'string');
    if (parts.length === 3 || parts[0] === 'pg_temp' || rel['relpersistence'] === 't') return { ok: false, reason: `${parts.join('.')} is not a table of the database the gateway can preview on` };
    const start = s.stmt_location ?? 0;
    const text = s.stmt_len ? bytes.subarray(start, start + s.stmt_len).toString('utf8') : bytes.subarray(start).toString('utf8');
    targets.push({ command: node === 'UpdateStmt' ? 'UPDATE' : 'DELETE', table: parts.join('.'), relation: quotedName(parts), text: text.trim() });
  }
  if (targets.length === 0) return { ok: false, reason: 'the SQL cannot be analysed' };
  return { ok: true, targets, names: analysed.names };
}

/** The first thing inside a statement that a rollback might not undo, or that the count would not show. */
function innerProblem(payload: Obj): string | undefined {
  let problem: string | undefined;
  const visit = (v: unknown): void => {
    if (problem) return;
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isObj(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k.endsWith('Stmt') && k !== 'SelectStmt') {
        problem = `it holds a nested ${statementType(k, (isObj(x) ? x : {}) as never).toUpperCase()}, whose changes the count would not show`;
        return;
      }
      if (k === 'SetToDefault') {
        problem = 'it sets a column to its DEFAULT, which may advance a sequence';
        return;
      }
      if (k === 'A_Expr' && isObj(x) && Array.isArray(x['name']) && x['name'].length > 1) {
        const schema = x['name'][0];
        const sval = isObj(schema) && isObj(schema['String']) ? schema['String']['sval'] : undefined;
        if (sval !== 'pg_catalog') {
          problem = 'it names an operator outside pg_catalog, which could act outside the transaction';
          return;
        }
      }
      visit(x);
    }
  };
  // The target itself is an UpdateStmt/DeleteStmt payload: its keys are walked, not its own name.
  visit(payload);
  return problem;
}
