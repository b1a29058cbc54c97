/**
 * Masks the values SQL writes to, or compares with, secret columns before it
 * goes into the audit log, so the log never holds a secret yet an auditor who
 * knows a value can compute its mask and find it. Where it cannot tell, it
 * masks more, not less (tree quirks: see facts.ts).
 */
import { sqlParser } from './facts.ts';
import { isObject, type Json, type JsonObject } from './parse-tree.ts';

type Param = string | number | boolean | null;
/** Names visible at a query level: a FROM alias (or the table's own name) → the table's name. */
type Scope = ReadonlyMap<string, string>;

interface Found {
  readonly bare: ReadonlySet<string>;
  readonly qualified: ReadonlySet<string>;
  /** A_Const byte offset → value (a map: the parser copies nodes, as in SET (a, b) = …). */
  readonly consts: Map<number, { readonly value: string; readonly numeric: boolean }>;
  readonly params: Set<number>; // 1-based
}

/** Skips whitespace and comments. */
const SPACE = /(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*/y;

/**
 * Masks secret values in SQL (after `await loadSqlParser()`): a literal
 * becomes `'<mask(value)>'`, a `$n` parameter mask(String(value)) in the
 * returned copy of params; NULLs stay. SQL that does not parse comes back
 * unchanged with masked 0; the parser not loaded, or a literal that cannot be
 * delimited, throws (fail closed).
 *
 * @param secretColumns  lower-case column names, bare (`password`) or table-qualified (`users.password`);
 *                       a bare name matches that column in any table.
 * @example
 * maskSqlSecrets("UPDATE users SET password = 'hunter2' WHERE id = $1", [7], ['password'], hmac);
 * // { sql: "UPDATE users SET password = 'hmac-sha256:…' WHERE id = $1", params: [7], masked: 1 }
 */
export function maskSqlSecrets(
  sql: string,
  params: readonly Param[] | undefined,
  secretColumns: readonly string[],
  mask: (value: string) => string,
): { sql: string; params?: Param[]; masked: number } {
  const spans = secretColumns.length === 0 || sql.trim() === '' ? NO_SPANS : secretSpans(sql, secretColumns);
  const out = applySecretSpans(sql, params, spans, mask);
  if (out.sql !== sql) verifyParses(out.sql);
  return out;
}

/** Where the secret values of a SQL text are: `$n` parameters (1-based) and literals (byte offset, value). */
export interface SecretSpans {
  readonly params: readonly number[];
  readonly consts: readonly (readonly [number, { readonly value: string; readonly numeric: boolean }])[];
}

const NO_SPANS: SecretSpans = { params: [], consts: [] };

/**
 * The secret values' places in `sql` (the parse and the walk of maskSqlSecrets, apart from the masking, so a long
 * text's can be found on the analysis thread); none when the SQL does not parse. Throws when the parser is not loaded.
 *
 * @example
 * secretSpans("UPDATE users SET password = 'x'", ['password']); // { params: [], consts: [[28, { value: 'x', numeric: false }]] }
 */
export function secretSpans(sql: string, secretColumns: readonly string[]): SecretSpans {
  let tree: unknown;
  try {
    tree = sqlParser().parseSync(sql);
  } catch (e) {
    if (e instanceof sqlParser().SqlError) return NO_SPANS;
    throw e;
  }
  const names = secretColumns.map((c) => c.toLowerCase());
  const bare = new Set(names.filter((c) => !c.includes('.')));
  const found: Found = { bare, qualified: new Set(names.filter((c) => c.includes('.'))), consts: new Map(), params: new Set() };
  walk(tree as Json, new Map(), found);
  return { params: [...found.params], consts: [...found.consts] };
}

/**
 * The SQL and params with the values at `spans` masked; the SQL is not parsed again here (maskSqlSecrets does, and
 * a long text's spans are checked on the analysis thread with a stand-in for each mask: the same tokens).
 */
export function applySecretSpans(sql: string, params: readonly Param[] | undefined, spans: SecretSpans, mask: (value: string) => string): { sql: string; params?: Param[]; masked: number } {
  const copy = params ? [...params] : undefined;
  const result = (text: string, masked: number) => ({ sql: text, ...(copy ? { params: copy } : {}), masked });
  let masked = 0;
  for (const n of spans.params) {
    const value = copy?.[n - 1];
    if (!copy || value === undefined || value === null) continue;
    copy[n - 1] = mask(String(value));
    masked++;
  }
  if (spans.consts.length === 0) return result(sql, masked);
  // `location` counts UTF-8 bytes; as latin1 each byte is one char, so string indices are byte offsets.
  let text = Buffer.from(sql, 'utf8').toString('latin1');
  for (const [start, { value, numeric }] of [...spans.consts].sort((a, b) => b[0] - a[0])) {
    const [from, to] = literalSpan(text, start, numeric);
    text = text.slice(0, from) + Buffer.from(`'${mask(value).replaceAll("'", "''")}'`).toString('latin1') + text.slice(to);
    masked++;
  }
  return result(Buffer.from(text, 'latin1').toString('utf8'), masked);
}

/** Throws unless `sql` (masked) parses: fail closed on a literal delimited wrongly. */
export function verifyParses(sql: string): void {
  try {
    sqlParser().parseSync(sql);
  } catch {
    throw new Error('masking secret values produced SQL that does not parse'); // never quote the SQL: it holds secrets
  }
}

/** Walks the whole tree; `scope` holds the FROM names visible where `value` sits. */
function walk(value: Json | undefined, scope: Scope, found: Found): void {
  const inner = isObject(value) ? withFrom(value, scope) : scope;
  for (const [key, child] of children(value)) {
    const node = isObject(child) ? child : undefined;
    if (key === 'InsertStmt' && node) insert(node, found);
    if (key === 'UpdateStmt' && node) assign(relName(node['relation']), node['targetList'], found);
    if (key === 'MergeStmt' && node) merge(node, found);
    // =, <>, IN, LIKE, BETWEEN, ANY, IS DISTINCT FROM…: a side naming a secret column masks the other.
    if (key === 'A_Expr' && node) {
      if (mentionsSecret(node['lexpr'], inner, found)) collect(node['rexpr'], found);
      if (mentionsSecret(node['rexpr'], inner, found)) collect(node['lexpr'], found);
    }
    walk(child, inner, found);
  }
}

/** INSERT: the value at a secret column's position in every row; ON CONFLICT DO UPDATE SET like UPDATE. */
function insert(stmt: JsonObject, found: Found): void {
  const rel = relName(stmt['relation']);
  const cols = targetNames(stmt['cols']);
  for (const values of rows(field(stmt['selectStmt'], 'SelectStmt'))) row(rel, cols, values, found);
  assign(rel, field(stmt, 'onConflictClause')?.['targetList'], found);
}

function merge(stmt: JsonObject, found: Found): void {
  const rel = relName(stmt['relation']);
  for (const w of list(stmt['mergeWhenClauses'])) {
    const when = field(w, 'MergeWhenClause');
    if (when?.['commandType'] === 'CMD_UPDATE') assign(rel, when['targetList'], found);
    if (when?.['commandType'] === 'CMD_INSERT') row(rel, targetNames(when['targetList']), list(when['values']), found);
  }
}

/** One row of values; without a column list any value may be a secret column's, so all are masked. */
function row(rel: string, cols: readonly string[], values: readonly Json[], found: Found): void {
  const mayHold = found.bare.size > 0 || [...found.qualified].some((q) => q.startsWith(`${rel}.`));
  values.forEach((value, i) => {
    const col = cols[i];
    if (col === undefined ? mayHold : secretColumn(rel, col, found)) collect(value, found);
  });
}

/** The rows an INSERT's source yields: VALUES lists, a SELECT's targets, each arm of a UNION. */
function rows(select: JsonObject | undefined): (readonly Json[])[] {
  if (!select) return [];
  if (select['valuesLists']) return list(select['valuesLists']).map((l) => list(field(l, 'List')?.['items']));
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') {
    return [select['larg'], select['rarg']].flatMap((arm) => rows(isObject(arm) ? arm : undefined));
  }
  return [list(select['targetList']).map((t) => field(t, 'ResTarget')?.['val'] ?? null)];
}

/** SET c = v and SET (a, b) = (v1, v2): the value of each secret target column. */
function assign(rel: string, targets: Json | undefined, found: Found): void {
  for (const t of list(targets)) {
    const target = field(t, 'ResTarget');
    if (!target || !secretColumn(rel, String(target['name'] ?? ''), found)) continue;
    const multi = field(target['val'], 'MultiAssignRef');
    const source = field(multi?.['source'], 'RowExpr'); // not a sub-SELECT
    if (!multi) collect(target['val'], found);
    else if (source && typeof multi['colno'] === 'number') collect(list(source['args'])[multi['colno'] - 1], found);
  }
}

/** Notes every constant and parameter of a value expression, outside subqueries and type modifiers. */
function collect(value: Json | undefined, found: Found): void {
  const constant = field(value, 'A_Const');
  const param = field(value, 'ParamRef');
  if (constant) {
    const at = constant['location'];
    const numeric = constant['ival'] !== undefined || constant['fval'] !== undefined;
    // NULL hides nothing; a constant the parser made up (location -1) is not in the text.
    if (constant['isnull'] !== true && typeof at === 'number' && at >= 0) found.consts.set(at, { value: constValue(constant), numeric });
  } else if (param) {
    if (typeof param['number'] === 'number') found.params.add(param['number']);
  } else {
    for (const [key, child] of children(value)) if (key !== 'SubLink' && key !== 'typeName') collect(child, found);
  }
}

/** The constant's value as an auditor would know it (`0x1F` is 31). */
function constValue(c: JsonObject): string {
  for (const kind of ['sval', 'fval', 'bsval']) {
    const inner = field(c, kind);
    if (inner) return String(inner[kind] ?? '');
  }
  if (c['ival'] !== undefined) return String(field(c, 'ival')?.['ival'] ?? 0);
  return String(field(c, 'boolval')?.['boolval'] === true);
}

/** Whether an expression (outside subqueries) names a secret column. */
function mentionsSecret(value: Json | undefined, scope: Scope, found: Found): boolean {
  const ref = field(value, 'ColumnRef');
  if (!ref) return children(value).some(([key, child]) => key !== 'SubLink' && mentionsSecret(child, scope, found));
  const names = list(ref['fields']).map((f) => field(f, 'String')?.['sval']);
  const [qualifier, col] = [names.at(-2), names.at(-1)];
  if (typeof col !== 'string') return false; // `t.*`
  if (typeof qualifier === 'string') return secretColumn((scope.get(qualifier) ?? qualifier).toLowerCase(), col, found);
  return found.bare.has(col.toLowerCase()) || [...scope.values()].some((table) => secretColumn(table, col, found));
}

function secretColumn(rel: string, col: string, found: Found): boolean {
  const c = col.toLowerCase();
  return found.bare.has(c) || found.qualified.has(`${rel}.${c}`);
}

/** The scope inside a node with a FROM (or a DML target): the outer names plus its tables and aliases. */
function withFrom(node: JsonObject, scope: Scope): Scope {
  const added = new Map<string, string>();
  const note = (v: Json | undefined): void => {
    if (isObject(v) && typeof v['relname'] === 'string') {
      added.set(String(field(v, 'alias')?.['aliasname'] ?? v['relname']), v['relname'].toLowerCase());
    } else if (Array.isArray(v)) (v as readonly Json[]).forEach(note);
    else if (isObject(v)) ['RangeVar', 'JoinExpr', 'larg', 'rarg'].forEach((key) => note(v[key]));
  };
  ['relation', 'fromClause', 'usingClause', 'sourceRelation'].forEach((key) => note(node[key]));
  return added.size === 0 ? scope : new Map([...scope, ...added]);
}

/**
 * The span [from, to) of the literal whose A_Const sits at `start` in `text`
 * (whose chars are the SQL's bytes). A numeric constant starting at `-` had
 * the sign, even `-(- 5)`, folded into it, so the whole span goes; before any
 * other constant a `-` stays an operator, and only the token itself goes.
 */
function literalSpan(text: string, start: number, numeric: boolean): [number, number] {
  const at = (re: RegExp, from: number): number => {
    re.lastIndex = from;
    const m = re.exec(text);
    return m ? from + m[0].length : -1;
  };
  let i = start;
  let open = 0;
  while (text[i] === '-' || (text[i] === '(' && i > start)) {
    if (text[i] === '(') open++;
    i = at(SPACE, i + 1);
  }
  let end = at(/(?:0[xob][\da-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:e[+-]?\d[\d_]*)?|true|false)(?![\w$\x80-\xff])/iy, i);
  const tag = /\$(?:[A-Za-z_\x80-\xff][\w\x80-\xff]*)?\$/y;
  tag.lastIndex = i;
  const dollar = tag.exec(text)?.[0];
  if (end < 0 && dollar !== undefined) {
    const close = text.indexOf(dollar, i + dollar.length);
    end = close < 0 ? -1 : close + dollar.length;
  }
  const body = end < 0 ? at(/[eE]'|[uU]&'|[bBxXnN]?'/y, i) : -1;
  if (body >= 0) {
    const quoted = /[eE]/.test(text[i] ?? '') ? /(?:[^'\\]|\\[\s\S]|'')*'/y : /(?:[^']|'')*'/y;
    end = at(quoted, body);
    for (let next = end; end >= 0; end = at(quoted, next)) {
      next = at(/[ \t\f\r]*\n[ \t\n\f\r]*'/y, end); // 'a'<newline>'b' is one literal
      if (next < 0) break;
    }
    const uescape = end >= 0 && /[uU]/.test(text[i] ?? '') ? at(/\s*uescape\s*'[^']'/iy, end) : -1;
    if (uescape >= 0) end = uescape;
  }
  // Space and comments skipped by the one greedy pass, then the ')' looked for: a pattern that ends in \) retried
  // every split of a run of spaces (2^n tries; 40 spaces held the gateway for minutes).
  for (let k = 0; numeric && k < open && end >= 0; k++) {
    const after = at(SPACE, end);
    end = text[after] === ')' ? after + 1 : -1;
  }
  if (end < 0) throw new Error(`cannot find the end of the SQL literal at byte ${start}`);
  return numeric ? [start, end] : [i, end];
}

/** A DML target (a bare RangeVar) as a lower-case table name. */
function relName(v: Json | undefined): string {
  return isObject(v) ? String(v['relname'] ?? '').toLowerCase() : '';
}

function targetNames(targets: Json | undefined): string[] {
  return list(targets).map((c) => String(field(c, 'ResTarget')?.['name'] ?? ''));
}

/** An array's items (key '') or an object's fields. */
function children(v: Json | undefined): [string, Json][] {
  if (Array.isArray(v)) return (v as readonly Json[]).map((item) => ['', item]);
  return isObject(v) ? Object.entries(v) : [];
}

function field(v: Json | undefined, key: string): JsonObject | undefined {
  const inner = isObject(v) ? v[key] : undefined;
  return isObject(inner) ? inner : undefined;
}

function list(v: Json | undefined): readonly Json[] {
  return Array.isArray(v) ? (v as readonly Json[]) : [];
}

