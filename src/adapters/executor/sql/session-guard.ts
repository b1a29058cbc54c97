/**
 * The check run on the upstream session right before an action's SQL, in its
 * transaction: the session reads text as the facts' parser did (pinned
 * settings), and each name the facts resolved to `pg_catalog` resolves there
 * on this server. Another schema on the search_path holding a function of the
 * same name (`public.lower(int)` can win over `pg_catalog.lower(text)`: Postgres
 * weighs overloads across schemas) refuses the run, so the name policy saw is
 * the function that runs. For a read-only run, operators, types (a domain's
 * CHECK runs on a cast) and attribute-notation calls (`t.f` is `f(t)`) are
 * checked the same way, except those an installed extension owns and types
 * a pg_catalog type of the same name hides (pg_catalog before them on the path).
 * A read-only run is also refused when what runs without being named would
 * call a function not on the allow-list: the views (and views of views) and
 * row-level-security policies of the relations it reads, what the planner
 * folds for them and their inheritance children (index expressions and
 * predicates, statistics expressions, CHECKs, partition keys), foreign tables
 * among them (read by their server, out of sight), any cast, any
 * domain CHECK, any range type's subtype_diff and any operator family of the
 * database (extensions' and the server's own aside), a function off the
 * allow-list a view of the server's calls (pg_stat_activity), the
 * catalogs that hold other tables' values (pg_statistic, read by pg_stats),
 * and those that hold credentials (pg_authid, read by pg_shadow). Any run,
 * whatever rule allowed it (a COPY, a SELECT calling nextval(), an approved
 * write), is refused when it reads a credential (those catalogs, a setting
 * that may hold one, a role's settings) or a TOAST or statistics catalog, or
 * what the one upstream role sees of other agents (other sessions' SQL text:
 * private-columns.ts) or of large objects.
 *
 * What a read reaches without naming it is asked by session-reach.ts.
 *
 * The query qualifies every operator and function it uses itself, so objects
 * an attacker created on the search_path cannot change its answer.
 */
import { analyseSql, deriveSqlFacts, type SqlFactsOptions, type SqlNameUses } from './facts.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { PINNED_SETTINGS } from './session-settings.ts';
import { member, notCatalog } from './guard-terms.ts';
import { DEFINITIONS, REACHED } from './session-reach.ts';

const IN_PATH = 'n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(true))';
/**
 * For a function or an operator (attribute notation `t.f` is a function call): on the search_path, but not the
 * session's temporary schema, where PostgreSQL never looks for one called without a schema (namespace.c,
 * FuncnameGetCandidates and OpernameGetCandidates), so a temporary `upper` hides nothing and refuses no read.
 */
const CALLED_IN_PATH = `${IN_PATH} AND n.oid OPERATOR(pg_catalog.<>) pg_catalog.pg_my_temp_schema()`;
/**
 * pg_catalog comes before n's schema on the search_path, so a pg_catalog type
 * of the same name is the one a bare name finds. Only then: a role or database
 * whose search_path lists `public, pg_catalog` makes `::text` a public.text.
 */
const CATALOG_FIRST = `pg_catalog.array_position(pg_catalog.current_schemas(true), 'pg_catalog'::pg_catalog.name)
                  OPERATOR(pg_catalog.<) pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)`;

/**
 * A relation named without a schema ($6) that two schemas on the search_path hold (the session's temporary schema
 * aside, whose relations PostgreSQL finds first by design): the first one wins, so a table made in a schema earlier
 * on the path (`CREATE SCHEMA postgres` for a role named postgres, whose `"$user"` leads the default path) takes
 * every session's `INSERT INTO notes` meant for public.notes. One row per such relation, each schema named.
 */
const AMBIGUOUS_RELATIONS = `SELECT 'relation ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(DISTINCT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.relname, ' and ')
      FROM pg_catalog.unnest($6::pg_catalog.text[]) r
      JOIN pg_catalog.pg_class c ON c.relname OPERATOR(pg_catalog.=) (pg_catalog.parse_ident(r))[1]::pg_catalog.name
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE ${nonEmpty(6)} AND pg_catalog.cardinality(pg_catalog.parse_ident(r)) OPERATOR(pg_catalog.=) 1 AND ${CALLED_IN_PATH}
       AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'f', 'p', 'S']::pg_catalog."char"[])
     GROUP BY c.relname HAVING pg_catalog.count(DISTINCT n.oid) OPERATOR(pg_catalog.>) 1`;

/**
 * Parameter $n lists something. Naming no column, the test is a one-time filter in any plan, the generic one the
 * gateway prepares too: a branch whose list is empty (no function named, no type) is skipped, not a scan of its catalog.
 */
function nonEmpty(n: number): string {
  return `pg_catalog.cardinality($${n}::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0`;
}

/** Argument types a row (`t` in `t.f`) can be passed as, besides a composite type. */
const ROW_TAKING = `ARRAY['pg_catalog.record', 'pg_catalog.anyelement', 'pg_catalog.anynonarray', 'pg_catalog.anycompatible',
  'pg_catalog.anycompatiblenonarray', 'pg_catalog."any"']::pg_catalog.regtype[]::pg_catalog.oid[]`;

/** $1 functions, $2 operators, $3 types, $4 attributes, $5 allowed qualified names, $6 relations read. */
export const GUARD_SQL = `SELECT pg_catalog.pg_backend_pid() AS pid,
  pg_catalog.current_setting('transaction_isolation') AS transaction_isolation,
  ${Object.keys(PINNED_SETTINGS)
    .map((s) => `pg_catalog.current_setting('${s}') AS ${s}`)
    .join(',\n  ')},
  ARRAY(
    SELECT 'function ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.proname
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE ${nonEmpty(1)} AND p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) AND ${notCatalog('p.oid')} AND ${CALLED_IN_PATH}
    UNION ALL
    SELECT 'operator ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) o.oprname
      FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
     WHERE ${nonEmpty(2)} AND o.oprname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) AND ${notCatalog('o.oid')} AND ${CALLED_IN_PATH}
       AND NOT ${member('pg_operator', 'o.oid')}
    UNION ALL
    SELECT 'type ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.typname
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
     WHERE ${nonEmpty(3)} AND t.typname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[]) AND ${notCatalog('t.oid')} AND ${IN_PATH}
       AND NOT ${member('pg_type', 't.oid')}
       AND NOT (EXISTS (SELECT FROM pg_catalog.pg_type c WHERE c.typname OPERATOR(pg_catalog.=) t.typname
                          AND c.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace)
                AND ${CATALOG_FIRST})
    UNION ALL
    SELECT 'function ' OPERATOR(pg_catalog.||) q FROM (
      SELECT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.proname AS q
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
       WHERE ${nonEmpty(4)} AND p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($4::pg_catalog.text[]) AND ${CALLED_IN_PATH}
         AND NOT ${member('pg_proc', 'p.oid')}
         AND (p.pronargs OPERATOR(pg_catalog.-) p.pronargdefaults) OPERATOR(pg_catalog.<=) 1
         AND p.pronargs OPERATOR(pg_catalog.>=) 1
         AND (p.proargtypes[0] OPERATOR(pg_catalog.=) ANY (${ROW_TAKING})
              OR EXISTS (SELECT FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) p.proargtypes[0] AND t.typtype OPERATOR(pg_catalog.=) 'c'))
    ) a WHERE NOT (q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))
    UNION ALL
    ${AMBIGUOUS_RELATIONS}
  ) AS shadows,
  ARRAY(${REACHED}) AS reached,
  ${DEFINITIONS} AS definitions`;

/** What the guard query returned. */
export interface GuardRow {
  pid: number;
  shadows: string[];
  /** What views, policies, casts and domain CHECKs reach that is not allowed, by dependency (read-only runs). */
  reached: string[];
  /** JSON `[where, SQL]` of each view and policy read and each domain CHECK, to check built-in calls by name (read-only runs). */
  definitions: string[];
  [setting: string]: unknown;
}

/** The index of the allow-list among the guard's parameters ($5). */
export const GUARD_ALLOWED = 4;

/**
 * The guard's parameters: every unqualified function and every relation for
 * any run (what it reads must hold no credential, whatever rule allowed it);
 * operators, types, attribute names and the allow-list only for a read-only
 * one (a write was judged as one, whatever they resolve to). An empty
 * allow-list tells the check the run is not read-only.
 *
 * @example
 * guardParams(names, true, allowed); // [['lower'], ['=', …], ['mytype'], ['total'], [...allowed], ['orders']]
 */
export function guardParams(names: SqlNameUses, readOnly: boolean, allowed: ReadonlySet<string>): string[][] {
  return readOnly
    ? [[...names.functions], [...names.operators], [...names.types], [...names.attributes], [...allowed], [...names.relations]]
    : [[...names.functions], [], [], [], [], [...names.relations]];
}

/** What the refusal of a credential says it protects. */
const CREDENTIALS_HELD = "password verifiers, user mappings' options, subscriptions' connection strings, settings such as primary_conninfo";

/**
 * Why no session may run the SQL, whatever rule allowed it, before any check on
 * the upstream: it reads a setting that may hold a credential by name.
 *
 * @example
 * credentialRefusal(analyseSql('SHOW primary_conninfo').names); // { message: 'the SQL reads primary_conninfo, …' }
 */
export function credentialRefusal(names: SqlNameUses): { message: string } | undefined {
  const read = [...names.credentials, ...names.customSettings];
  if (read.length === 0) return undefined;
  return {
    message: `the SQL reads or calls ${read.join(', ')}, which may read credentials (${CREDENTIALS_HELD}, a secret kept as a custom setting or per role) or what is not this agent's (other sessions' SQL text, large objects) out of the check's sight, or write the server's own files; nothing ran`,
  };
}

/**
 * Why the session must not run the SQL, or undefined when it may.
 * `settings` true means a pinned setting is off: the connection is not to be reused.
 *
 * @example
 * refusal({ pid: 1, shadows: ['function public.lower'], standard_conforming_strings: 'on', … });
 * // { settings: false, message: 'public.lower … call it schema-qualified' }
 */
export function refusal(row: GuardRow | undefined, options: SqlFactsOptions = {}, readOnly = true): { settings: boolean; message: string } | undefined {
  if (!row) return { settings: true, message: 'the session check returned nothing' };
  const wrong = Object.entries(PINNED_SETTINGS).filter(([name, want]) => String(row[name]) !== want);
  if (wrong.length > 0) {
    const list = wrong.map(([name, want]) => `${name} is ${String(row[name])}, not ${want}`).join('; ');
    return { settings: true, message: `the session does not read SQL as the gateway's parser does (${list}); nothing ran` };
  }
  const ambiguous = row.shadows.filter((s) => s.startsWith('relation '));
  if (ambiguous.length > 0) {
    const list = [...new Set(ambiguous.map((s) => s.slice('relation '.length)))].sort().join(', ');
    return {
      settings: false,
      message: `a relation the SQL names without a schema is in more than one schema on the search_path (${list}): the first one found would be used, which policy did not see named; name it schema-qualified; nothing ran`,
    };
  }
  if (row.shadows.length > 0) {
    const list = [...new Set(row.shadows)].sort().join(', ');
    return {
      settings: false,
      message: `a name in the SQL would not run the pg_catalog object policy saw (${list} is on the search_path); call it schema-qualified; nothing ran`,
    };
  }
  // A name the server cannot resolve: said as such, not as something that calls an unknown function.
  const missing = row.reached.filter((r) => r.startsWith('relation ') && !r.includes(' (through '));
  if (missing.length > 0) {
    const list = [...new Set(missing.map((r) => r.slice('relation '.length)))].sort().join(', ');
    return { settings: false, message: `no relation ${list} on this server, as the session's search_path resolves it; nothing ran` };
  }
  const credentials = [
    ...row.reached.filter((r) => r.startsWith('credential catalog ')).map((r) => r.slice('credential catalog '.length)),
    ...row.definitions.flatMap(credentialDefinition),
  ];
  if (credentials.length > 0) {
    const list = [...new Set(credentials)].sort().join(', ');
    return {
      settings: false,
      message: `the SQL reads ${list}, which holds credentials (${CREDENTIALS_HELD}), named or through a view that shows them; nothing ran`,
    };
  }
  const data = row.reached.filter((r) => r.startsWith('data catalog '));
  if (data.length > 0) {
    const list = [...new Set(data.map((r) => r.slice('data catalog '.length).replace(/ \(through .*$/, '')))].sort().join(', ');
    return {
      settings: false,
      message: `the SQL reads ${list}, which holds values of other tables' columns (statistics pg_stats shows, long values in TOAST) that policy did not see named; nothing ran`,
    };
  }
  // A run that is not read-only was judged as what it is: only credentials and other tables' values are refused in it.
  if (!readOnly) return undefined;
  const reached = [...row.reached, ...row.definitions.flatMap((d) => unsafeDefinition(d, options))];
  if (reached.length > 0) {
    const list = [...new Set(reached)].sort().join(', ');
    return {
      settings: false,
      message: `a view, row-level-security policy, index, statistics object, CHECK, partition key, foreign table, cast, domain CHECK, range type or operator class the SQL may reach runs what is not known free of effects (${list}); nothing ran`,
    };
  }
  return undefined;
}

/** The settings holding credentials a view's SQL or a policy's expression reads (`primary_conninfo (through v)`); unreadable counts. */
function credentialDefinition(json: string): string[] {
  let via = '?';
  try {
    const [relation, sql] = JSON.parse(json) as [string, string];
    via = relation;
    return analyseSql(sql).names.credentials.map((c) => `${c} (through ${via})`);
  } catch {
    return [`a definition the gateway cannot read (through ${via})`];
  }
}

/** `[]` when a view's SQL or a policy's expression only reads and calls allowed functions; else what it calls. */
function unsafeDefinition(json: string, options: SqlFactsOptions): string[] {
  let via = '?';
  try {
    const [relation, sql] = JSON.parse(json) as [string, string];
    via = relation;
    const facts = deriveSqlFacts(sql, options);
    if (facts.readOnly) return [];
    const allowed = new Set([...READ_ONLY_FUNCTIONS, ...(options.readOnlyFunctions ?? [])]);
    const calls = facts.functions.filter((f) => !allowed.has(f));
    return [`${calls.length > 0 ? calls.join(', ') : 'a statement that does not only read'} (through ${via})`];
  } catch {
    return [`a definition the gateway cannot read (through ${via})`];
  }
}

/**
 * In the client's block above READ COMMITTED the check reads the catalogs through the block's snapshot, taken at its
 * first statement, while the server resolves the statement's names in the latest catalogs: a function created elsewhere
 * since is invisible to the check yet is what a name calls. Outside a block the gateway's transaction starts with the check.
 */
export function snapshotRefusal(status: string, row: GuardRow | undefined): { message: string } | undefined {
  if (status !== 'T' || !row || row['transaction_isolation'] === 'read committed') return undefined;
  return {
    message: `in a ${String(row['transaction_isolation']).toUpperCase()} transaction block the session check reads the catalogs as of the block's snapshot, not as the statement's names resolve; run it in a READ COMMITTED block or outside one; nothing ran`,
  };
}

/** A text[] parameter in Postgres' array literal form. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}
