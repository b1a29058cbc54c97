/**
 * How a SQL parse tree names what it invokes: functions (FuncCall, a
 * TABLESAMPLE method), operators and types (a cast to a domain runs its
 * CHECK). Policy sees a function by its schema-qualified name; one called
 * without a schema is named `pg_catalog.<name>`, the schema Postgres searches
 * first, and the executor refuses to run the SQL when another schema on the
 * session's search_path holds a function (or operator, or type) of that name,
 * so the name policy saw is the function that runs.
 */
import { checkSetConfig, credentialSettingRead, CREDENTIAL_SETTING_FUNCTIONS, customSettingRead, readsUnseen } from './session-settings.ts';

/** What a walk collects about invoked names. */
export interface Invocations {
  /** Every function called, schema-qualified (`pg_catalog.lower`, `public.report_totals`). */
  readonly functions: Set<string>;
  /** Functions called without a schema, by bare name, and those an older server's grammar leaves bare. */
  readonly unqualifiedFunctions: Set<string>;
  /** Operators written without a schema. */
  readonly operators: Set<string>;
  /** Types named without a schema. */
  readonly types: Set<string>;
  /** Field names of `x.f` / `(x).f`, which may be attribute-notation function calls. */
  readonly attributes: Set<string>;
  /** An operator or type of a schema other than pg_catalog (`OPERATOR(public.+)`, `::public.d`). */
  foreignNames: boolean;
  /**
   * Settings that may hold a credential the SQL reads by name: `current_setting()` of one or of a computed name, a
   * function listing them all (`pg_show_all_settings`), or one reading SQL text or a server file (`query_to_xml`,
   * `pg_read_file`). Not a read, and refused whatever rule allows the SQL.
   */
  readonly credentials: Set<string>;
  /** Custom settings (`app.jwt_secret`) read by name: a run is refused, yet a view or policy reading one is no write. */
  readonly customSettings: Set<string>;
}

const PLAIN = /^[a-z_][a-z0-9_$]*$/;

/**
 * An identifier as Postgres would print it: plain when it is lower-case
 * letters, digits, `_` and `$`; else in double quotes. So `"Lower"` and
 * `"public.f"` never pose as `lower` or `public.f`.
 *
 * @example
 * qualifiedName(['lower']);           // 'pg_catalog.lower'
 * qualifiedName(['public', 'Totals']); // 'public."Totals"'
 */
export function qualifiedName(parts: readonly string[]): string {
  return quotedName(parts.length === 1 ? ['pg_catalog', ...parts] : parts);
}

/**
 * Name parts joined as Postgres reads them back, without adding a schema.
 *
 * @example
 * quotedName(['public', 'Totals']); // 'public."Totals"'
 */
export function quotedName(parts: readonly string[]): string {
  return parts.map((p) => (PLAIN.test(p) ? p : `"${p.replaceAll('"', '""')}"`)).join('.');
}

/**
 * SQL-standard syntax that the parser's grammar (PostgreSQL 17) builds in, but
 * that a server of an older release reads as a call of that name resolved on
 * the search_path: `json_query(…)` on PostgreSQL 15 runs `public.json_query`
 * if there is one. The executor checks these names as it checks bare calls.
 */
const SYNTAX_CALLS: Readonly<Record<string, string>> = {
  JsonObjectConstructor: 'json_object',
  JsonArrayConstructor: 'json_array',
  JsonArrayQueryConstructor: 'json_array',
  JsonObjectAgg: 'json_objectagg',
  JsonArrayAgg: 'json_arrayagg',
  JsonParseExpr: 'json',
  JsonScalarExpr: 'json_scalar',
  JsonSerializeExpr: 'json_serialize',
  JsonTable: 'json_table',
  MergeSupportFunc: 'merge_action',
};
const JSON_FUNC_OPS: Readonly<Record<string, string>> = {
  JSON_QUERY_OP: 'json_query',
  JSON_VALUE_OP: 'json_value',
  JSON_EXISTS_OP: 'json_exists',
  JSON_TABLE_OP: 'json_table',
};
/**
 * Calls the newer grammar qualifies as `pg_catalog.<name>` itself (or gives SQL
 * syntax, like `SYSTEM_USER`) where an older one left the name bare.
 */
const GRAMMAR_QUALIFIED: ReadonlySet<string> = new Set(['json_object']);

/** A function call by its name parts; `set_config` of a pinned setting is refused here, `current_setting` of a credential noted. */
export function noteCall(parts: readonly string[], args: unknown, found: Invocations, format?: string): void {
  if (parts.length === 0) return;
  const name = qualifiedName(parts);
  found.functions.add(name);
  const bare = parts[parts.length - 1] as string;
  if (parts.length === 1) found.unqualifiedFunctions.add(bare);
  else if (parts.length === 2 && parts[0] === 'pg_catalog' && (format === 'COERCE_SQL_SYNTAX' || GRAMMAR_QUALIFIED.has(bare))) {
    found.unqualifiedFunctions.add(bare);
  }
  if (name === 'pg_catalog.set_config') checkSetConfig(args);
  const setting = name === 'pg_catalog.current_setting' ? credentialSettingRead(args) : undefined;
  if (setting !== undefined) found.credentials.add(setting);
  const custom = name === 'pg_catalog.current_setting' ? customSettingRead(args) : undefined;
  if (custom !== undefined) found.customSettings.add(custom);
  if (CREDENTIAL_SETTING_FUNCTIONS.has(name) || readsUnseen(parts)) found.credentials.add(name);
}

/** A node of SQL-standard syntax an older server may run as a bare-named call (SYNTAX_CALLS). */
export function noteSyntaxCall(node: string, payload: Readonly<Record<string, unknown>>, found: Invocations): void {
  const name = node === 'JsonFuncExpr' ? JSON_FUNC_OPS[String(payload['op'])] : SYNTAX_CALLS[node];
  if (!name) return;
  // Policy sees the built-in the syntax stands for, as it sees a bare call of it.
  found.functions.add(qualifiedName([name]));
  found.unqualifiedFunctions.add(name);
}

/** The operator an A_Expr looks up by name; BETWEEN's name is a keyword (it uses <= and >=). */
export function operatorName(parts: readonly string[], kind: string): readonly string[] | undefined {
  return parts.length === 0 || kind.includes('BETWEEN') ? undefined : parts;
}

export function noteOperator(parts: readonly string[], found: Invocations): void {
  if (parts.length === 1) found.operators.add(parts[0] as string);
  else if (parts.length !== 2 || parts[0] !== 'pg_catalog') found.foreignNames = true;
}

export function noteType(parts: readonly string[], found: Invocations): void {
  if (parts.length === 1) found.types.add(parts[0] as string);
  else if (parts.length !== 2 || parts[0] !== 'pg_catalog') found.foreignNames = true;
}
