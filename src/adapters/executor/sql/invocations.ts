/**
 * How a SQL parse tree names what it invokes: functions (FuncCall, a
 * TABLESAMPLE method), operators and types (a cast to a domain runs its
 * CHECK). Policy sees a function by its schema-qualified name; one called
 * without a schema is named `pg_catalog.<name>`, the schema Postgres searches
 * first, and the executor refuses to run the SQL when another schema on the
 * session's search_path holds a function (or operator, or type) of that name,
 * so the name policy saw is the function that runs.
 */
import { checkSetConfig } from './session-settings.ts';

/** What a walk collects about invoked names. */
export interface Invocations {
  /** Every function called, schema-qualified (`pg_catalog.lower`, `public.report_totals`). */
  readonly functions: Set<string>;
  /** Functions called without a schema, by bare name. */
  readonly unqualifiedFunctions: Set<string>;
  /** Operators written without a schema. */
  readonly operators: Set<string>;
  /** Types named without a schema. */
  readonly types: Set<string>;
  /** Field names of `x.f` / `(x).f`, which may be attribute-notation function calls. */
  readonly attributes: Set<string>;
  /** An operator or type of a schema other than pg_catalog (`OPERATOR(public.+)`, `::public.d`). */
  foreignNames: boolean;
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
  const full = parts.length === 1 ? ['pg_catalog', ...parts] : parts;
  return full.map((p) => (PLAIN.test(p) ? p : `"${p.replaceAll('"', '""')}"`)).join('.');
}

/** A function call by its name parts; `set_config` of a pinned setting is refused here. */
export function noteCall(parts: readonly string[], args: unknown, found: Invocations): void {
  if (parts.length === 0) return;
  const name = qualifiedName(parts);
  found.functions.add(name);
  if (parts.length === 1) found.unqualifiedFunctions.add(parts[0] as string);
  if (name === 'pg_catalog.set_config') checkSetConfig(args);
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
