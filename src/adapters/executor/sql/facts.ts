/**
 * SQL facts from the real Postgres parser (libpg-query: the server's own
 * grammar compiled to WASM), never from the statement's first keyword. The
 * whole parse tree is walked generically, so a write hidden in a CTE, a
 * subquery, an EXPLAIN or a second statement is seen wherever it sits, and so
 * is every function called: a statement only reads when each of them is on
 * the allow-list (read-only-functions.ts) or the connection's own list.
 *
 * The tree has one trap: a field whose type is a specific node (a DML
 * `relation`, `intoClause.rel`, `CallStmt.funccall`, a UNION's `larg`) holds
 * the node bare, without the `{ RangeVar: … }` wrapper that fields typed as
 * any node carry. So RangeVars and FuncCalls are recognised by their shape.
 */
import { CountersignError } from '../../../core/errors.ts';
import type { SqlFacts, SqlStatementFacts } from '../../../core/facts.ts';
import { noteCall, noteOperator, noteSyntaxCall, noteType, operatorName, quotedName, type Invocations } from './invocations.ts';
import { READ_ONLY_FUNCTIONS, READ_ONLY_SYNTAX } from './read-only-functions.ts';
import { checkCopyEncoding, checkSettingsWrite, checkVariableSet, isCustomSetting, showsCredential } from './session-settings.ts';
import { privateColumnReads } from './private-columns.ts';
import { isSqlParserLoaded, sqlParser } from './sql-parser.ts';
import { extraTypes } from './server-objects.ts';
import { cascades, changesOwner, countsAsDdl, DROPPED_RELATION_KINDS, mergeWrites, PRIVILEGE_TYPES, statementType, upsertUpdate } from './statement-types.ts';
import { explainAnalyzes } from './explain-analyze.ts';
import { isNodeName, isObject, type Json, type JsonObject } from './parse-tree.ts';

export { loadSqlParser, sqlParser } from './sql-parser.ts';

/** What leaves a statement read-only on every connection; a connection's `readOnlyFunctions` add to it. */
const BUILT_IN_READS: ReadonlySet<string> = new Set([...READ_ONLY_FUNCTIONS, ...READ_ONLY_SYNTAX]);

/** Statement types that, nested in another statement, still write: each is listed among the facts' statements. */
const NESTED_WRITE_TYPES: ReadonlySet<string> = new Set(['insert', 'update', 'delete', 'merge']);

/** Nodes that, nested (in EXPLAIN ANALYZE, which runs them), make a table: CREATE TABLE … AS, CREATE MATERIALIZED VIEW and
 * SELECT … INTO (typed `create`). Listed too; other statements nested in CREATE SCHEMA are not, but for its GRANTs,
 * which run with it on any object they name, not only the schema's own. */
const NESTED_CREATES: ReadonlySet<string> = new Set(['CreateTableAsStmt', 'SelectStmt']);

/** Statements whose nested statements are a body stored to run later, not run by the statement itself. */
const DEFINITIONS: ReadonlySet<string> = new Set(['PrepareStmt', 'RuleStmt', 'CreateFunctionStmt']);

/** What one walk over a top-level statement found. */
interface Found extends Invocations {
  readonly tables: Set<string>;
  /** The same relations, quoted for the server (tables are lower-cased for policy). */
  readonly relations: Set<string>;
  /** Every statement node met, the top-level one first; hasWhere for UPDATE and DELETE (null for others). */
  readonly statements: { readonly node: string; readonly type: string; readonly hasWhere: boolean | null }[];
  /** SELECT … INTO or FOR UPDATE/SHARE somewhere: a "select" that writes or locks. */
  selectWrites: boolean;
  unboundedWrite: boolean;
  /** Objects handed to another owner (changesOwner): a privilege change whatever the statement's type. */
  ownerChange: boolean;
}

const NO_CTES: ReadonlySet<string> = new Set();
/** Their `relation` is the target table; Postgres never resolves it to a CTE of the same name. */
const DML_NODES: ReadonlySet<string> = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const READ_ONLY_NODES: ReadonlySet<string> = new Set(['SelectStmt', 'VariableShowStmt', 'ExplainStmt']);

/**
 * The names a SQL string uses unqualified, which the executor must show to
 * resolve to `pg_catalog` (as the facts name them) before it runs the SQL.
 */
export interface SqlNameUses {
  /** Functions called without a schema (`lower`), named `pg_catalog.lower` in the facts, and SQL syntax an older server runs as such a call (`json_query(…)`). */
  readonly functions: readonly string[];
  /** Operators written without a schema, plus the comparisons IN, BETWEEN, CASE and DISTINCT use. */
  readonly operators: readonly string[];
  /** Types named without a schema (`text`, `mytype`). */
  readonly types: readonly string[];
  /** `x.f` and `(x).f`: a one-argument function f may run (attribute notation) when x has no column f. */
  readonly attributes: readonly string[];
  /** Relations as written, quoted as `to_regclass` reads them (`public."Totals"`): a view or a policy may call functions. */
  readonly relations: readonly string[];
  /**
   * Settings that may hold a credential the SQL reads by name (`primary_conninfo`, `SHOW ALL`, a computed name,
   * `pg_catalog.pg_show_all_settings`): the executor runs no such SQL, whatever rule allowed it.
   */
  readonly credentials: readonly string[];
  /** Custom settings read by name (`app.jwt_secret`, by SHOW or current_setting()): refused in a run as credentials are. */
  readonly customSettings: readonly string[];
}

/** Options of one connection. */
export interface SqlFactsOptions {
  /** Schema-qualified functions (`public.report_totals`) that also leave a statement read-only. */
  readonly readOnlyFunctions?: readonly string[];
}

/** Comparison operators Postgres looks up by name for IN, BETWEEN, CASE, DISTINCT FROM and row comparisons. */
const IMPLIED_OPERATORS = ['=', '<>', '<', '>', '<=', '>='];

/**
 * Derives the facts of a SQL string (one or more statements).
 * Throws CountersignError('INPUT_UNPARSEABLE') when it does not parse or holds no statement,
 * and CountersignError('SQL_SETTING_REFUSED') when it changes a setting the gateway pins.
 *
 * @example
 * deriveSqlFacts('WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d');
 * // { readOnly: false, tables: ['orders'], unboundedWrite: true, statements: [{ type: 'select', … }], … }
 */
export function deriveSqlFacts(sql: string, options: SqlFactsOptions = {}): SqlFacts {
  return analyseSql(sql, options).facts;
}

/**
 * Whether the SQL holds a parse node of this name anywhere, nested too (`EXPLAIN ANALYZE EXECUTE x`).
 * @example
 * containsNode('EXPLAIN ANALYZE EXECUTE x', 'ExecuteStmt'); // true
 */
export function containsNode(sql: string, node: string): boolean {
  return holdsNode(parse(sql), node);
}

function holdsNode(roots: readonly [string, JsonObject][], node: string): boolean {
  const seen = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.some(seen);
    if (!isObject(v)) return false;
    return Object.entries(v).some(([k, x]) => k === node || seen(x));
  };
  return roots.some(([name, payload]) => name === node || seen(payload));
}

/**
 * The facts, and the unqualified names the executor checks before running.
 *
 * @example
 * analyseSql('SELECT lower(name) FROM t').names; // { functions: ['lower'], operators: ['=', …], types: [], attributes: [], relations: ['t'] }
 */
export function analyseSql(sql: string, options: SqlFactsOptions = {}): { facts: SqlFacts; names: SqlNameUses } {
  if (!isSqlParserLoaded()) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  const allowed = options.readOnlyFunctions?.length ? new Set([...BUILT_IN_READS, ...options.readOnlyFunctions]) : BUILT_IN_READS;
  const roots = parse(sql);
  const statements: SqlStatementFacts[] = [];
  const tables = new Set<string>();
  const functions = new Set<string>();
  const names = {
    functions: new Set<string>(),
    operators: new Set(IMPLIED_OPERATORS),
    types: new Set<string>(),
    attributes: new Set<string>(),
    relations: new Set<string>(),
    credentials: new Set<string>(),
    customSettings: new Set<string>(),
  };
  let readOnly = true;
  let ddl = false;
  let privilege = false;
  let unboundedWrite = false;
  const executes = holdsNode(roots, 'ExecuteStmt');
  for (const [node, payload] of roots) {
    // Only a top-level SET changes this session (one in CREATE/ALTER FUNCTION or ALTER ROLE … SET is a definition); a COPY's ENCODING too.
    if (node === 'VariableSetStmt') checkVariableSet(payload);
    if (node === 'CopyStmt') checkCopyEncoding(payload);
    const found = walkStatement(node, payload);
    if (node === 'VariableShowStmt' && typeof payload['name'] === 'string' && isCustomSetting(payload['name'])) {
      found.customSettings.add(payload['name'].toLowerCase());
    }
    if (node === 'VariableShowStmt' && showsCredential(payload['name'])) {
      found.credentials.add(typeof payload['name'] === 'string' && payload['name'].toLowerCase() !== 'all' ? payload['name'].toLowerCase() : 'SHOW ALL');
    }
    const type = statementType(node, payload);
    const hasWhere = node === 'UpdateStmt' || node === 'DeleteStmt' ? payload['whereClause'] !== undefined : null;
    statements.push({ type, tables: [...found.tables], hasWhere }, ...extraTypes(node, payload, options.readOnlyFunctions).map((t) => ({ type: t, tables: [...found.tables], hasWhere: null })));
    // A write nested in the statement (`WITH d AS (DELETE …) SELECT …`, EXPLAIN ANALYZE DELETE) is listed too, with
    // the tables of the statement it is in: a rule that looks for a delete among the statements must find one the
    // SQL runs, wherever it is written. A definition (PREPARE, CREATE RULE, CREATE FUNCTION) runs its body later, as
    // a statement judged then; it is listed as what it is (but a PREPARE the same string EXECUTEs runs its body now).
    if (!DEFINITIONS.has(node) || (node === 'PrepareStmt' && executes)) {
      for (const n of found.statements.slice(1)) {
        if (NESTED_WRITE_TYPES.has(n.type) || n.type === 'cascade' || (n.type === 'create' && NESTED_CREATES.has(n.node)) || (node === 'CreateSchemaStmt' && PRIVILEGE_TYPES.has(n.type))) statements.push({ type: n.type, tables: [...found.tables], hasWhere: n.hasWhere });
      }
    }
    for (const t of found.tables) tables.add(t);
    for (const f of found.functions) functions.add(f);
    for (const [from, to] of [
      [found.unqualifiedFunctions, names.functions],
      [found.operators, names.operators],
      [found.types, names.types],
      [found.attributes, names.attributes],
      [found.relations, names.relations],
      [found.credentials, names.credentials],
      [found.customSettings, names.customSettings],
    ] as const) {
      for (const n of from) to.add(n);
    }
    readOnly &&=
      isReadOnly(node, payload, found) && [...found.functions].every((f) => allowed.has(f)) && !found.foreignNames && found.credentials.size === 0;
    ddl ||= found.statements.some((s) => countsAsDdl(s.node, s.type));
    privilege ||= found.ownerChange || found.statements.some((s) => PRIVILEGE_TYPES.has(s.type));
    unboundedWrite ||= found.unboundedWrite;
  }
  const facts: SqlFacts = {
    statements,
    tables: [...tables],
    readOnly,
    writes: !readOnly,
    ddl,
    privilege,
    unboundedWrite,
    functions: [...functions],
  };
  const list = (set: Set<string>) => [...set].sort();
  return {
    facts,
    names: {
      functions: list(names.functions),
      operators: list(names.operators),
      types: list(names.types),
      attributes: list(names.attributes),
      relations: list(names.relations),
      credentials: list(names.credentials),
      customSettings: list(names.customSettings),
    },
  };
}

/** The top-level statements as [node name, payload] pairs. */
function parse(sql: string): [string, JsonObject][] {
  // The parser and the server both stop at a NUL, so facts would describe a prefix of the text reviewers see.
  if (sql.includes('\0')) throw new CountersignError('INPUT_UNPARSEABLE', 'SQL holds a NUL character');
  let tree: unknown;
  try {
    tree = sqlParser().parseSync(sql);
  } catch (e) {
    // Every parser failure (syntax error, too deep, out of memory) denies: fail closed.
    throw new CountersignError('INPUT_UNPARSEABLE', `SQL does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  const raw = isObject(tree) && Array.isArray(tree['stmts']) ? tree['stmts'] : [];
  const roots: [string, JsonObject][] = [];
  for (const r of raw) {
    const entry = isObject(r) && isObject(r['stmt']) ? Object.entries(r['stmt'])[0] : undefined;
    if (entry && isObject(entry[1])) roots.push([entry[0], entry[1]]);
  }
  if (roots.length === 0) throw new CountersignError('INPUT_UNPARSEABLE', 'no SQL statement');
  return roots;
}

function walkStatement(node: string, payload: JsonObject): Found {
  const found: Found = {
    tables: new Set(),
    relations: new Set(),
    functions: new Set(),
    unqualifiedFunctions: new Set(),
    operators: new Set(),
    types: new Set(),
    attributes: new Set(),
    foreignNames: false,
    credentials: new Set(),
    customSettings: new Set(),
    statements: [],
    selectWrites: false,
    unboundedWrite: false,
    ownerChange: false,
  };
  try {
    visitNode(node, payload, NO_CTES, found);
    for (const read of privateColumnReads(node, payload)) found.credentials.add(read);
  } catch (e) {
    if (e instanceof RangeError) throw new CountersignError('INPUT_UNPARSEABLE', 'SQL is nested too deeply to analyse');
    throw e;
  }
  return found;
}

/** A wrapped node `{ Name: payload }`: statements are noted here, then the payload is walked. */
function visitNode(node: string, payload: JsonObject, scope: ReadonlySet<string>, found: Found): void {
  if (node.endsWith('Stmt')) {
    const hasWhere = node === 'UpdateStmt' || node === 'DeleteStmt' ? payload['whereClause'] !== undefined : null;
    found.statements.push({ node, type: statementType(node, payload), hasWhere });
    if (DML_NODES.has(node)) checkSettingsWrite(payload);
    if (hasWhere === false) found.unboundedWrite = true;
    found.statements.push(...[upsertUpdate(node, payload) ?? []].flat(), ...mergeWrites(node, payload));
    const after = node === 'DropStmt' ? DROPPED_RELATION_KINDS.get(String(payload['removeType'])) : undefined;
    if (after !== undefined) for (const name of droppedNames(payload['objects'], after)) found.tables.add(name);
  }
  if (changesOwner(node, payload)) found.ownerChange = true;
  if (cascades(payload)) found.statements.push({ node: 'Cascade', type: 'cascade', hasWhere: null });
  noteNamedNode(node, payload, found);
  walkObject(payload, scope, found, node);
}

function walk(value: Json, scope: ReadonlySet<string>, found: Found): void {
  if (Array.isArray(value)) {
    for (const item of value as readonly Json[]) walk(item, scope, found);
  } else if (isObject(value)) {
    walkObject(value, scope, found, undefined);
  }
}

/**
 * Walks every field of one object. `scope` holds the CTE names visible here:
 * an unqualified table reference to one of them is the CTE, not a table.
 */
function walkObject(obj: JsonObject, scope: ReadonlySet<string>, found: Found, node: string | undefined): void {
  noteShape(obj, scope, found);
  const inner = isObject(obj['withClause']) ? walkWith(obj['withClause'], scope, found) : scope;
  for (const key in obj) {
    if (key === 'withClause') continue;
    const child = obj[key]!;
    if (key === 'intoClause' || (key === 'lockingClause' && Array.isArray(child) && child.length > 0)) found.selectWrites = true;
    const childScope = key === 'relation' && node !== undefined && DML_NODES.has(node) ? NO_CTES : inner;
    if (isNodeName(key) && isObject(child)) visitNode(key, child, childScope, found);
    else walk(child, childScope, found);
  }
}

/**
 * Walks a WITH clause and returns the scope of the statement it belongs to.
 * Without RECURSIVE a CTE sees only the CTEs before it, so `WITH t AS
 * (SELECT * FROM t)` reads the real table t.
 */
function walkWith(clause: JsonObject, scope: ReadonlySet<string>, found: Found): ReadonlySet<string> {
  const ctes = Array.isArray(clause['ctes']) ? (clause['ctes'] as readonly Json[]) : [];
  const names = ctes.map((c) => {
    const cte = isObject(c) ? c['CommonTableExpr'] : undefined;
    return isObject(cte) && typeof cte['ctename'] === 'string' ? cte['ctename'] : '';
  });
  const all = new Set([...scope, ...names]);
  ctes.forEach((cte, i) => {
    walk(cte, clause['recursive'] === true ? all : new Set([...scope, ...names.slice(0, i)]), found);
  });
  return all;
}

/** Records a RangeVar (table reference) or FuncCall, wrapped or bare. */
function noteShape(obj: JsonObject, scope: ReadonlySet<string>, found: Found): void {
  const { relname, relpersistence, schemaname, catalogname, funcname, funcformat } = obj;
  if (typeof relname === 'string' && typeof relpersistence === 'string') {
    const qualified = typeof schemaname === 'string' || typeof catalogname === 'string';
    if (qualified || !scope.has(relname)) {
      const parts = [catalogname, schemaname, relname].filter((p) => typeof p === 'string');
      found.tables.add(parts.join('.').toLowerCase());
      found.relations.add(quotedName(parts));
    }
  }
  if (Array.isArray(funcname) && typeof funcformat === 'string') noteCall(stringParts(funcname), obj['args'], found, funcformat);
  // A TypeName sits bare under TypeCast.typeName, ColumnDef.typeName, …
  const { names, typemod } = obj;
  if (Array.isArray(names) && typeof typemod === 'number') noteType(stringParts(names), found);
}

/**
 * Names that invoke functions other than through a FuncCall: operators
 * (`a + b`, `x IN (…)`, `ORDER BY a USING >`), TABLESAMPLE methods, and
 * attribute notation (`t.f` is `f(t)` when t has no column f).
 */
function noteNamedNode(node: string, payload: JsonObject, found: Found): void {
  noteSyntaxCall(node, payload, found);
  if (node === 'A_Expr') {
    const op = operatorName(stringParts(asList(payload['name'])), String(payload['kind']));
    if (op) noteOperator(op, found);
  } else if (node === 'SubLink' || node === 'SortBy') {
    const parts = stringParts(asList(payload[node === 'SubLink' ? 'operName' : 'useOp']));
    if (parts.length > 0) noteOperator(parts, found);
  } else if (node === 'RangeTableSample') {
    noteCall(stringParts(asList(payload['method'])), undefined, found);
  } else if (node === 'ColumnRef') {
    const fields = asList(payload['fields']);
    const last = stringParts(fields.slice(-1))[0];
    if (fields.length > 1 && last !== undefined) found.attributes.add(last);
  } else if (node === 'A_Indirection') {
    for (const name of stringParts(asList(payload['indirection']))) found.attributes.add(name);
  }
}

function asList(v: Json | undefined): readonly Json[] {
  return Array.isArray(v) ? (v as readonly Json[]) : [];
}

/** `DROP TABLE a.x, y` holds its names as lists of String nodes, not RangeVars; `after`: parts after the relation's (`DROP POLICY p ON t`: [t, p]). */
function droppedNames(objects: Json | undefined, after: number): string[] {
  if (!Array.isArray(objects)) return [];
  return (objects as readonly Json[]).flatMap((o) => {
    const list = isObject(o) ? o['List'] : undefined;
    const parts = isObject(list) && Array.isArray(list['items']) ? stringParts(list['items']).slice(0, -after || undefined) : [];
    return parts.length ? [parts.join('.').toLowerCase()] : [];
  });
}

function stringParts(items: readonly Json[]): string[] {
  return items.flatMap((i) => {
    const s = isObject(i) ? i['String'] : undefined;
    return isObject(s) && typeof s['sval'] === 'string' ? [s['sval']] : [];
  });
}

/**
 * A statement only reads when it is a SELECT, SHOW (not of a setting that may
 * hold a credential: analyseSql) or EXPLAIN without ANALYZE, holds no SELECT INTO or FOR
 * UPDATE/SHARE, and nests no statement but SELECTs (a DELETE in a CTE writes).
 */
function isReadOnly(node: string, payload: JsonObject, found: Found): boolean {
  if (!READ_ONLY_NODES.has(node) || found.selectWrites) return false;
  if (node === 'ExplainStmt' && explainAnalyzes(payload)) return false;
  return found.statements.slice(1).every((s) => s.node === 'SelectStmt');
}

