/**
 * Facts: what the gateway derives from an action before policy sees it.
 * They come from parsing the input, never from what the agent claims.
 * Every kind fills all four sections (the other kinds' sections neutral),
 * so a rule such as `facts.sql.readOnly` evaluates on an HTTP action too
 * instead of failing on a missing key.
 */
import type { ConnectionKind } from './connection.ts';
import { BOOL, DYN, listOf, mapOf, nullable, objectType, STRING, type FieldsOf, type VarType } from './policy/types.ts';

/**
 * One SQL statement, as the Postgres parser saw it. A write nested in another statement (a data-modifying WITH,
 * EXPLAIN ANALYZE of a write) is listed as a statement of its own after the one it is in, with that one's tables.
 */
export interface SqlStatementFacts {
  /** Lower-case statement type: select, insert, update, delete, merge, create, alter, drop, truncate, grant, revoke, alter_role, copy, … */
  readonly type: string;
  /** Tables the statement touches (schema-qualified when written so), lower-case. */
  readonly tables: readonly string[];
  /** For update/delete: whether a WHERE clause is present; null for other types. */
  readonly hasWhere: boolean | null;
}

export interface SqlFacts {
  readonly statements: readonly SqlStatementFacts[];
  /** Every table touched by any statement, CTEs and subqueries included, deduplicated. */
  readonly tables: readonly string[];
  /** True only when every statement (and every nested statement) only reads, and every function called is known to be free of effects. */
  readonly readOnly: boolean;
  readonly writes: boolean;
  /** CREATE / ALTER / DROP / TRUNCATE / COMMENT and other schema changes. */
  readonly ddl: boolean;
  /** GRANT / REVOKE / CREATE|ALTER|DROP ROLE / ALTER DEFAULT PRIVILEGES. */
  readonly privilege: boolean;
  /** An UPDATE or DELETE (anywhere, CTEs included) without a WHERE clause. */
  readonly unboundedWrite: boolean;
  /**
   * Functions called anywhere, schema-qualified as Postgres resolves them: `public.f` as written, a call without a
   * schema as `pg_catalog.<name>` (the executor refuses to run SQL where another schema on the search_path holds
   * that name), quoted identifiers in double quotes. readOnly requires every one to be known free of effects.
   */
  readonly functions: readonly string[];
}

export interface HttpFacts {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, readonly string[]>>;
}

export interface ExecFacts {
  /** The full argv the gateway will run: the configured command, then the agent's args. */
  readonly argv: readonly string[];
  readonly command: string;
  /** The first argument when it does not start with '-', else '' (after an option, which argument is the subcommand is not knowable). */
  readonly subcommand: string;
}

/**
 * MCP tool annotations as policy sees them: the upstream's hints with the
 * spec's defaults filled in (readOnly false, destructive true, idempotent
 * false, openWorld true), and destructive false for a read-only tool (the spec
 * gives it meaning only when readOnlyHint is false).
 */
export interface McpAnnotationFacts {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

export interface McpFacts {
  /** The upstream tool's own name. */
  readonly tool: string;
  readonly annotations: McpAnnotationFacts;
  /** The argument values, as the upstream will receive them. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** The tool's definition differs from the one accepted (pinned): a possible rug pull. */
  readonly toolChanged: boolean;
  /**
   * The hash of the definition the upstream showed when the call was submitted: an approval is for
   * a call of this definition, and execution refuses the call if the upstream shows another by then.
   */
  readonly definitionHash: string;
}

export interface Facts {
  readonly kind: ConnectionKind;
  /** Set by every kind: non-GET/HEAD/OPTIONS for http, not read-only for SQL, always for exec, a tool without readOnlyHint for mcp. */
  readonly writes: boolean;
  readonly sql: SqlFacts;
  readonly http: HttpFacts;
  readonly exec: ExecFacts;
  readonly mcp: McpFacts;
}

/**
 * The facts as policy declares them: the one place a condition's
 * `facts.…` paths and types are checked against at load. Each declaration
 * must list exactly the fields of its interface above (the compiler holds
 * them together), so a new fact is declared here once and policy knows it.
 */
export const FACTS_TYPE: VarType = objectType('Facts', {
  kind: STRING,
  writes: BOOL,
  sql: objectType('SqlFacts', {
    statements: listOf(
      objectType('SqlStatementFacts', { type: STRING, tables: listOf(STRING), hasWhere: nullable(BOOL) } satisfies FieldsOf<SqlStatementFacts>),
    ),
    tables: listOf(STRING),
    readOnly: BOOL,
    writes: BOOL,
    ddl: BOOL,
    privilege: BOOL,
    unboundedWrite: BOOL,
    functions: listOf(STRING),
  } satisfies FieldsOf<SqlFacts>),
  http: objectType('HttpFacts', { method: STRING, path: STRING, query: mapOf(listOf(STRING)) } satisfies FieldsOf<HttpFacts>),
  exec: objectType('ExecFacts', { argv: listOf(STRING), command: STRING, subcommand: STRING } satisfies FieldsOf<ExecFacts>),
  mcp: objectType('McpFacts', {
    tool: STRING,
    annotations: objectType('McpAnnotationFacts', {
      readOnlyHint: BOOL,
      destructiveHint: BOOL,
      idempotentHint: BOOL,
      openWorldHint: BOOL,
    } satisfies FieldsOf<McpAnnotationFacts>),
    // The agent's arguments: any shape.
    arguments: mapOf(DYN),
    toolChanged: BOOL,
    definitionHash: STRING,
  } satisfies FieldsOf<McpFacts>),
} satisfies FieldsOf<Facts>);

export const EMPTY_SQL_FACTS: SqlFacts = Object.freeze({
  statements: [],
  tables: [],
  readOnly: false,
  writes: false,
  ddl: false,
  privilege: false,
  unboundedWrite: false,
  functions: [],
});

export const EMPTY_HTTP_FACTS: HttpFacts = Object.freeze({ method: '', path: '', query: {} });

export const EMPTY_EXEC_FACTS: ExecFacts = Object.freeze({ argv: [], command: '', subcommand: '' });

export const EMPTY_MCP_FACTS: McpFacts = Object.freeze({
  tool: '',
  annotations: Object.freeze({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false }),
  arguments: Object.freeze({}),
  toolChanged: false,
  definitionHash: '',
});

/**
 * Builds complete facts for one kind, filling the other sections neutrally.
 *
 * @example
 * makeFacts('http', { http: { method: 'GET', path: '/x', query: {} }, writes: false });
 */
export function makeFacts(
  kind: ConnectionKind,
  parts: { writes: boolean; sql?: SqlFacts; http?: HttpFacts; exec?: ExecFacts; mcp?: McpFacts },
): Facts {
  return {
    kind,
    writes: parts.writes,
    sql: parts.sql ?? EMPTY_SQL_FACTS,
    http: parts.http ?? EMPTY_HTTP_FACTS,
    exec: parts.exec ?? EMPTY_EXEC_FACTS,
    mcp: parts.mcp ?? EMPTY_MCP_FACTS,
  };
}
