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
 * database (extensions' and the server's own aside).
 *
 * The query qualifies every operator and function it uses itself, so objects
 * an attacker created on the search_path cannot change its answer.
 */
import { deriveSqlFacts, type SqlFactsOptions, type SqlNameUses } from './facts.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { PINNED_SETTINGS } from './session-settings.ts';

const IN_PATH = 'n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(true))';
const NOT_CATALOG = "n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'";
/**
 * pg_catalog comes before n's schema on the search_path, so a pg_catalog type
 * of the same name is the one a bare name finds. Only then: a role or database
 * whose search_path lists `public, pg_catalog` makes `::text` a public.text.
 */
const CATALOG_FIRST = `pg_catalog.array_position(pg_catalog.current_schemas(true), 'pg_catalog'::pg_catalog.name)
                  OPERATOR(pg_catalog.<) pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)`;

/**
 * Whether an object belongs to an installed extension (citext's `=`, PostGIS's
 * geometry): operators, types and row functions of extension scripts are the
 * operator's choice, not something an agent or a database user slipped onto
 * the search_path. Functions called by name get no such pass: the facts must
 * name them as they run (`public.uuid_generate_v4`).
 */
function member(catalog: string, oid: string): string {
  return `EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.${catalog}'::pg_catalog.regclass
    AND d.objid OPERATOR(pg_catalog.=) ${oid} AND d.deptype OPERATOR(pg_catalog.=) 'e')`;
}

/** Argument types a row (`t` in `t.f`) can be passed as, besides a composite type. */
const ROW_TAKING = `ARRAY['pg_catalog.record', 'pg_catalog.anyelement', 'pg_catalog.anynonarray', 'pg_catalog.anycompatible',
  'pg_catalog.anycompatiblenonarray', 'pg_catalog."any"']::pg_catalog.regtype[]::pg_catalog.oid[]`;

/** A name as qualifiedName() prints it: plain when lower-case letters, digits, `_` and `$`, else double-quoted. */
function printed(name: string): string {
  return `CASE WHEN ${name} OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_$]*$' THEN ${name}::pg_catalog.text
    ELSE '"' OPERATOR(pg_catalog.||) pg_catalog.replace(${name}, '"', '""') OPERATOR(pg_catalog.||) '"' END`;
}

/**
 * What runs when relation x is read, besides its rows: the rule of a view,
 * and the policies of a table with row-level security on. Relations of
 * pg_catalog and information_schema, and those an extension owns, are the
 * server's or the operator's and are not looked into.
 */
function definers(x: string): string {
  return `SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, w.oid FROM pg_catalog.pg_rewrite w
      JOIN pg_catalog.pg_class vc ON vc.oid OPERATOR(pg_catalog.=) w.ev_class
       WHERE w.ev_class OPERATOR(pg_catalog.=) ${x} AND w.ev_type OPERATOR(pg_catalog.=) '1' AND vc.relkind OPERATOR(pg_catalog.=) 'v'
    UNION ALL
    SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, pol.oid FROM pg_catalog.pg_policy pol
      JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) pol.polrelid
     WHERE pol.polrelid OPERATOR(pg_catalog.=) ${x} AND pc.relrowsecurity`;
}

/**
 * What the planner reads of relation x and folds (it runs an IMMUTABLE
 * function with constant arguments there, whatever its body does): its index
 * expressions and predicates, its extended statistics' expressions, its CHECK
 * constraints (constraint exclusion), and the partition key of x and of the
 * tables x is a partition of. A read that names only built-ins runs them.
 */
function planned(x: string): string {
  return `SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) ${x}
    UNION ALL
    SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, s.oid FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid OPERATOR(pg_catalog.=) ${x}
    UNION ALL
    SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid FROM pg_catalog.pg_constraint c
     WHERE c.conrelid OPERATOR(pg_catalog.=) ${x} AND c.contype OPERATOR(pg_catalog.=) 'c'
    UNION ALL
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, pt.partrelid FROM pg_catalog.pg_partitioned_table pt
     WHERE pt.partrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT a.relid FROM pg_catalog.pg_partition_ancestors(${x}) a))`;
}

const SYSTEM_REL = `EXISTS (SELECT FROM pg_catalog.pg_class sc WHERE sc.oid OPERATOR(pg_catalog.=) rel.oid
  AND sc.relnamespace OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog', 'information_schema']::pg_catalog.regnamespace[]::pg_catalog.oid[]))`;

/**
 * For a read-only run ($5, the allow-list, is empty otherwise): a cast whose
 * function is not allowed. A column of a user's type runs the cast its owner
 * created (`m::text`, `to_json(m)`, an implicit cast in `m + 1`) without the
 * SQL naming any function, so any such cast in the database refuses the run;
 * casts of pg_catalog and of installed extensions are the server's or the operator's.
 */
const CASTS = `SELECT 'cast ' OPERATOR(pg_catalog.||) c.castsource::pg_catalog.regtype::pg_catalog.text OPERATOR(pg_catalog.||) ' AS '
         OPERATOR(pg_catalog.||) c.casttarget::pg_catalog.regtype::pg_catalog.text OPERATOR(pg_catalog.||) ' (function ' OPERATOR(pg_catalog.||) f.q
         OPERATOR(pg_catalog.||) ')'
      FROM pg_catalog.pg_cast c, LATERAL (
        SELECT ${printed('n.nspname')} OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) ${printed('p.proname')} AS q
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
         WHERE p.oid OPERATOR(pg_catalog.=) c.castfunc AND ${NOT_CATALOG} AND NOT ${member('pg_proc', 'p.oid')}) f
     WHERE pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0 AND NOT ${member('pg_cast', 'c.oid')}
       AND NOT (f.q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))`;

/**
 * For a read-only run ($5 not empty): a function of an operator family (an
 * operator class's support function, or the function of one of its
 * operators) that is not allowed. ORDER BY, DISTINCT, GROUP BY, a merge join
 * or a window's frame compare a column with its type's default operator
 * class, found in any schema, without the SQL naming an operator or function;
 * so, as for casts, any such family in the database refuses the run. Families
 * of pg_catalog (only a superuser adds to them) and of installed extensions
 * are the server's or the operator's, and so are pg_catalog's functions.
 */
const OPERATOR_FAMILIES = `SELECT 'operator family ' OPERATOR(pg_catalog.||) ${printed('fn.nspname')} OPERATOR(pg_catalog.||) '.'
         OPERATOR(pg_catalog.||) ${printed('fam.opfname')} OPERATOR(pg_catalog.||) ' (function ' OPERATOR(pg_catalog.||) f.q OPERATOR(pg_catalog.||) ')'
      FROM pg_catalog.pg_opfamily fam JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) fam.opfnamespace,
      LATERAL (SELECT ap.amproc FROM pg_catalog.pg_amproc ap WHERE ap.amprocfamily OPERATOR(pg_catalog.=) fam.oid
               UNION
               SELECT o.oprcode FROM pg_catalog.pg_amop ao JOIN pg_catalog.pg_operator o ON o.oid OPERATOR(pg_catalog.=) ao.amopopr
                WHERE ao.amopfamily OPERATOR(pg_catalog.=) fam.oid) u(fn),
      LATERAL (
        SELECT ${printed('n.nspname')} OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) ${printed('p.proname')} AS q
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
         WHERE p.oid OPERATOR(pg_catalog.=) u.fn AND ${NOT_CATALOG} AND NOT ${member('pg_proc', 'p.oid')}) f
     WHERE pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0
       AND fn.nspname OPERATOR(pg_catalog.<>) 'pg_catalog' AND NOT ${member('pg_opfamily', 'fam.oid')}
       AND NOT (f.q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))`;

/**
 * For a read-only run ($5 not empty): a range type whose subtype_diff or
 * canonical function is not allowed. The planner calls subtype_diff to
 * estimate a range operator on a column with statistics (`r && '[3,5)'`)
 * without the SQL naming the type or the function; as for casts, any such
 * range type in the database refuses the run.
 */
const RANGES = `SELECT 'range type ' OPERATOR(pg_catalog.||) r.rngtypid::pg_catalog.regtype::pg_catalog.text OPERATOR(pg_catalog.||) ' (function '
         OPERATOR(pg_catalog.||) f.q OPERATOR(pg_catalog.||) ')'
      FROM pg_catalog.pg_range r, LATERAL (
        SELECT ${printed('n.nspname')} OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) ${printed('p.proname')} AS q
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
         WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[r.rngsubdiff::pg_catalog.oid, r.rngcanonical::pg_catalog.oid])
           AND ${NOT_CATALOG} AND NOT ${member('pg_proc', 'p.oid')}) f
     WHERE pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0 AND NOT ${member('pg_type', 'r.rngtypid')}
       AND NOT (f.q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))`;

/**
 * The CHECK constraints of every domain but the server's and extensions',
 * for a read-only run ($5 not empty). A value is coerced to a domain, and its
 * CHECK runs, without the SQL naming the domain: `json_populate_record(r, …)`
 * of a row with a domain column, `COALESCE(d, '5')`, a UNION with a literal.
 */
function domainChecks(columns: string): string {
  return `SELECT ${columns}
      FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) con.contypid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
     WHERE con.contype OPERATOR(pg_catalog.=) 'c' AND pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0
       AND NOT (n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[]))
       AND NOT ${member('pg_type', 't.oid')}`;
}
const DOMAIN = `'domain ' OPERATOR(pg_catalog.||) con.contypid::pg_catalog.regtype::pg_catalog.text`;

/** The relations a read-only run reads ($6), those their views and policies read, and their inheritance children and partitions (planned with them), recursively. */
const RELS = `WITH RECURSIVE rel(oid) AS (
          SELECT pg_catalog.to_regclass(r.name)::pg_catalog.oid FROM pg_catalog.unnest($6::pg_catalog.text[]) r(name)
        UNION
          SELECT n.oid FROM rel, LATERAL (
              SELECT d.refobjid FROM (${definers('rel.oid')}) o(classid, objid), pg_catalog.pg_depend d
               WHERE d.classid OPERATOR(pg_catalog.=) o.classid AND d.objid OPERATOR(pg_catalog.=) o.objid
                 AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
              UNION ALL
              SELECT inh.inhrelid FROM pg_catalog.pg_inherits inh WHERE inh.inhparent OPERATOR(pg_catalog.=) rel.oid
            ) n(oid)
           WHERE NOT ${SYSTEM_REL} AND NOT ${member('pg_class', 'rel.oid')}
      )`;

/**
 * For a read-only run: every function, operator and type (a domain's CHECK)
 * of a schema other than pg_catalog that the views and row-level-security
 * policies it reads depend on, through views of views, that what the planner
 * folds for them calls, and that domain CHECKs call, must be on the allow-list
 * or an extension's; a relation name the server cannot resolve, and a foreign
 * table (its server runs what no check here sees), are refused too. Postgres records no dependency on its own built-ins, so those
 * are checked on the definitions' text (DEFINITIONS).
 */
const REACHED = `
    SELECT 'relation ' OPERATOR(pg_catalog.||) r.name FROM pg_catalog.unnest($6::pg_catalog.text[]) r(name)
     WHERE pg_catalog.to_regclass(r.name) IS NULL
    UNION ALL
    SELECT x.what OPERATOR(pg_catalog.||) ' (through ' OPERATOR(pg_catalog.||) x.via OPERATOR(pg_catalog.||) ')' FROM (
      ${RELS}
      SELECT obj.via, CASE
          WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (
            SELECT 'function ' OPERATOR(pg_catalog.||) q FROM (
              SELECT ${printed('n.nspname')} OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) ${printed('p.proname')} AS q
                FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
               WHERE p.oid OPERATOR(pg_catalog.=) d.refobjid AND NOT ${member('pg_proc', 'p.oid')}) f
             WHERE NOT (q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[])))
          WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass THEN (
            SELECT 'operator ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) o.oprname
              FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
             WHERE o.oid OPERATOR(pg_catalog.=) d.refobjid AND ${NOT_CATALOG} AND NOT ${member('pg_operator', 'o.oid')})
          WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass THEN (
            SELECT 'type ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.typname
              FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
             WHERE t.oid OPERATOR(pg_catalog.=) d.refobjid AND ${NOT_CATALOG} AND NOT ${member('pg_type', 't.oid')}
               AND NOT (t.typtype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'e', 'p']::pg_catalog."char"[])))
        END AS what
        FROM (
          SELECT rel.oid::pg_catalog.regclass::pg_catalog.text AS via, o.classid, o.objid
            FROM rel, LATERAL (${definers('rel.oid')} UNION ALL ${planned('rel.oid')}) o(classid, objid)
           WHERE NOT ${SYSTEM_REL} AND NOT ${member('pg_class', 'rel.oid')}
          UNION ALL
          ${domainChecks(`${DOMAIN}, 'pg_catalog.pg_constraint'::pg_catalog.regclass, con.oid`)}
        ) obj,
        /* OFFSET 0: looked up by each object's key, never a scan of all of pg_depend (which grows with the database);
           the object as a whole, since a table's columns depend on their types, which its partition key does not call */
        LATERAL (SELECT d.refclassid, d.refobjid FROM pg_catalog.pg_depend d
                  WHERE d.classid OPERATOR(pg_catalog.=) obj.classid AND d.objid OPERATOR(pg_catalog.=) obj.objid
                    AND d.objsubid OPERATOR(pg_catalog.=) 0 OFFSET 0) d
      UNION ALL
      /* What a foreign table's server runs to read it (a remote view, file_fdw's program) is out of the check's sight. */
      SELECT 'its server', 'foreign table ' OPERATOR(pg_catalog.||) rel.oid::pg_catalog.regclass::pg_catalog.text
        FROM rel JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) rel.oid
       WHERE fc.relkind OPERATOR(pg_catalog.=) 'f' AND NOT ${member('pg_class', 'rel.oid')}
    ) x WHERE x.what IS NOT NULL
    UNION ALL
    ${CASTS}
    UNION ALL
    ${OPERATOR_FAMILIES}
    UNION ALL
    ${RANGES}`;

/** The SQL of those views, the expressions of those policies and of domain CHECKs, as the server prints them for this search_path. */
const DEFINITIONS = `ARRAY(SELECT pg_catalog.to_jsonb(ARRAY[d.via, d.def])::pg_catalog.text FROM (
    ${RELS}
    SELECT rel.oid::pg_catalog.regclass::pg_catalog.text AS via, pg_catalog.pg_get_viewdef(rel.oid) AS def
      FROM rel JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) rel.oid
     WHERE c.relkind OPERATOR(pg_catalog.=) 'v' AND NOT ${SYSTEM_REL} AND NOT ${member('pg_class', 'rel.oid')}
    UNION ALL
    SELECT rel.oid::pg_catalog.regclass::pg_catalog.text, 'SELECT ' OPERATOR(pg_catalog.||) e
      FROM rel JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) rel.oid
      JOIN pg_catalog.pg_policy pol ON pol.polrelid OPERATOR(pg_catalog.=) rel.oid,
      LATERAL (VALUES (pg_catalog.pg_get_expr(pol.polqual, pol.polrelid)), (pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid))) v(e)
     WHERE c.relrowsecurity AND e IS NOT NULL AND NOT ${SYSTEM_REL} AND NOT ${member('pg_class', 'rel.oid')}
    UNION ALL
    ${domainChecks(`${DOMAIN}, 'SELECT ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(con.conbin, 0)`)}
  ) d)`;

/** $1 functions, $2 operators, $3 types, $4 attributes, $5 allowed qualified names, $6 relations read. */
export const GUARD_SQL = `SELECT pg_catalog.pg_backend_pid() AS pid,
  pg_catalog.current_setting('transaction_isolation') AS transaction_isolation,
  ${Object.keys(PINNED_SETTINGS)
    .map((s) => `pg_catalog.current_setting('${s}') AS ${s}`)
    .join(',\n  ')},
  ARRAY(
    SELECT 'function ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.proname
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) AND ${NOT_CATALOG} AND ${IN_PATH}
    UNION ALL
    SELECT 'operator ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) o.oprname
      FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
     WHERE o.oprname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) AND ${NOT_CATALOG} AND ${IN_PATH}
       AND NOT ${member('pg_operator', 'o.oid')}
    UNION ALL
    SELECT 'type ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.typname
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
     WHERE t.typname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.text[]) AND ${NOT_CATALOG} AND ${IN_PATH}
       AND NOT ${member('pg_type', 't.oid')}
       AND NOT (EXISTS (SELECT FROM pg_catalog.pg_type c WHERE c.typname OPERATOR(pg_catalog.=) t.typname
                          AND c.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace)
                AND ${CATALOG_FIRST})
    UNION ALL
    SELECT 'function ' OPERATOR(pg_catalog.||) q FROM (
      SELECT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.proname AS q
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
       WHERE p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($4::pg_catalog.text[]) AND ${IN_PATH}
         AND NOT ${member('pg_proc', 'p.oid')}
         AND (p.pronargs OPERATOR(pg_catalog.-) p.pronargdefaults) OPERATOR(pg_catalog.<=) 1
         AND p.pronargs OPERATOR(pg_catalog.>=) 1
         AND (p.proargtypes[0] OPERATOR(pg_catalog.=) ANY (${ROW_TAKING})
              OR EXISTS (SELECT FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) p.proargtypes[0] AND t.typtype OPERATOR(pg_catalog.=) 'c'))
    ) a WHERE NOT (q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))
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
 * The guard's parameters: every unqualified function for any run; operators,
 * types, attribute names, the allow-list and the relations read only for a
 * read-only one (a write was judged as one, whatever they resolve to).
 *
 * @example
 * guardParams(names, true, allowed); // [['lower'], ['=', …], ['mytype'], ['total'], [...allowed], ['orders']]
 */
export function guardParams(names: SqlNameUses, readOnly: boolean, allowed: ReadonlySet<string>): string[][] {
  return readOnly
    ? [[...names.functions], [...names.operators], [...names.types], [...names.attributes], [...allowed], [...names.relations]]
    : [[...names.functions], [], [], [], [], []];
}

/**
 * Why the session must not run the SQL, or undefined when it may.
 * `settings` true means a pinned setting is off: the connection is not to be reused.
 *
 * @example
 * refusal({ pid: 1, shadows: ['function public.lower'], standard_conforming_strings: 'on', … });
 * // { settings: false, message: 'public.lower … call it schema-qualified' }
 */
export function refusal(row: GuardRow | undefined, options: SqlFactsOptions = {}): { settings: boolean; message: string } | undefined {
  if (!row) return { settings: true, message: 'the session check returned nothing' };
  const wrong = Object.entries(PINNED_SETTINGS).filter(([name, want]) => String(row[name]) !== want);
  if (wrong.length > 0) {
    const list = wrong.map(([name, want]) => `${name} is ${String(row[name])}, not ${want}`).join('; ');
    return { settings: true, message: `the session does not read SQL as the gateway's parser does (${list}); nothing ran` };
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
