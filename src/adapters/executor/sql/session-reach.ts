/**
 * What a read-only run reaches without naming it, asked of the upstream in
 * the session check (session-guard.ts): the views and row-level-security
 * policies of the relations it reads, recursively, what the planner folds
 * for them and their inheritance children, foreign tables among them, and
 * the casts, domain CHECKs, range types' subtype_diff and operator families
 * of the database that any read may call (extensions' and the server's own
 * aside). The server's own views, and extensions', are looked into by their
 * stored trees: the functions off the allow-list they call, and the catalogs
 * holding other tables' values (pg_statistic) they read; and the catalogs
 * holding credentials (pg_authid, pg_user_mapping, pg_subscription) read by
 * name or through a view that shows them, and views listing every setting
 * (pg_settings). Credentials, TOAST tables and the statistics catalogs are
 * asked for any run, whatever rule allowed it (a COPY, a write); the rest
 * only for a read-only run (READ_ONLY_RUN). REACHED lists what is refused
 * outright; DEFINITIONS the text of views, policies and domain CHECKs,
 * checked against the allow-list by session-guard.ts.
 */
import { madeSince, member, notCatalog } from './guard-terms.ts';

/** A name as qualifiedName() prints it: plain when lower-case letters, digits, `_` and `$`, else double-quoted. */
function printed(name: string): string {
  return `CASE WHEN ${name} OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_$]*$' THEN ${name}::pg_catalog.text
    ELSE '"' OPERATOR(pg_catalog.||) pg_catalog.replace(${name}, '"', '""') OPERATOR(pg_catalog.||) '"' END`;
}

/**
 * What runs when relation x is read, besides its rows: the rule of a view,
 * and the policies of a table with row-level security on. Relations of
 * pg_catalog and information_schema, and those an extension owns, are the
 * server's or the operator's and are not looked into here (readIn() and
 * SYSTEM_VIEW_CALLS look into the server's views).
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

/** The run is read-only ($5, the allow-list, is empty for any other): what only a read must show is asked then only. */
const READ_ONLY_RUN = 'pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0';

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
         WHERE p.oid OPERATOR(pg_catalog.=) c.castfunc AND ${notCatalog('p.oid')} AND NOT ${member('pg_proc', 'p.oid')}) f
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
         WHERE p.oid OPERATOR(pg_catalog.=) u.fn AND ${notCatalog('p.oid')} AND NOT ${member('pg_proc', 'p.oid')}) f
     WHERE pg_catalog.cardinality($5::pg_catalog.text[]) OPERATOR(pg_catalog.>) 0
       AND ${notCatalog('fam.oid', 'fn.nspname')} AND NOT ${member('pg_opfamily', 'fam.oid')}
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
           AND ${notCatalog('p.oid')} AND NOT ${member('pg_proc', 'p.oid')}) f
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
       AND (NOT (n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[])) OR ${madeSince('t.oid')})
       AND NOT ${member('pg_type', 't.oid')}`;
}
const DOMAIN = `'domain ' OPERATOR(pg_catalog.||) con.contypid::pg_catalog.regtype::pg_catalog.text`;

/**
 * The relations a view's rule or a policy's expression reads, from its stored
 * tree (`:relid N` of each range table entry). Postgres records no dependency
 * on its own (pinned) objects, so pg_depend shows nothing for a view of
 * pg_stat_activity, nor for what pg_stats reads.
 */
function readIn(x: string): string {
  const relids = (tree: string) => `pg_catalog.regexp_matches(${tree}::pg_catalog.text, ':relid (\\d+)', 'g')`;
  return `SELECT m[1]::pg_catalog.oid FROM pg_catalog.pg_rewrite w, LATERAL ${relids('w.ev_action')} m
     WHERE w.ev_class OPERATOR(pg_catalog.=) ${x} AND w.ev_type OPERATOR(pg_catalog.=) '1'
    UNION ALL
    SELECT m[1]::pg_catalog.oid FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) pol.polrelid,
      LATERAL (VALUES (pol.polqual), (pol.polwithcheck)) e(tree), LATERAL ${relids('e.tree')} m
     WHERE pol.polrelid OPERATOR(pg_catalog.=) ${x} AND pc.relrowsecurity`;
}

/**
 * The relations a read-only run reads ($6), those their views and policies read (the server's views too), and their
 * inheritance children and partitions (planned with them), recursively; `through` is what a relation must satisfy to
 * be looked into.
 */
function relations(through: string): string {
  return `WITH RECURSIVE rel(oid) AS (
          SELECT pg_catalog.to_regclass(r.name)::pg_catalog.oid FROM pg_catalog.unnest($6::pg_catalog.text[]) r(name)
        UNION
          SELECT n.oid FROM rel, LATERAL (
              SELECT d.refobjid FROM (${definers('rel.oid')}) o(classid, objid), pg_catalog.pg_depend d
               WHERE d.classid OPERATOR(pg_catalog.=) o.classid AND d.objid OPERATOR(pg_catalog.=) o.objid
                 AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND NOT ${SYSTEM_REL}
                 AND NOT ${member('pg_class', 'rel.oid')}
              UNION ALL
              SELECT inh.inhrelid FROM pg_catalog.pg_inherits inh WHERE inh.inhparent OPERATOR(pg_catalog.=) rel.oid AND NOT ${SYSTEM_REL}
                AND NOT ${member('pg_class', 'rel.oid')}
              UNION ALL
              ${readIn('rel.oid')}
            ) n(oid)
           WHERE ${through}
      )`;
}
const RELS = relations('true');

/**
 * The view rule of each relation reached (`w`), looked up by its key. The planner, counting on a recursive walk that
 * reaches thousands of relations, would rather hash every rule of the database and run the regular expressions of
 * CREDENTIALS and SYSTEM_VIEW_CALLS over all of their trees (the server's 140 views: 15 ms a check); OFFSET 0 keeps the
 * lookup inside the walk, so only the trees of the relations the statement reads are searched.
 */
const RULES = `LATERAL (SELECT w.ev_action FROM pg_catalog.pg_rewrite w
       WHERE w.ev_class OPERATOR(pg_catalog.=) rel.oid AND w.ev_type OPERATOR(pg_catalog.=) '1' OFFSET 0) w`;

/**
 * Catalogs that hold values of other relations' columns, not definitions: a
 * read of them (pg_stats is one) reads tables policy never saw named. So does
 * a read of any TOAST table (relkind 't'), refused with them.
 */
const DATA_CATALOGS = `ARRAY['pg_catalog.pg_statistic', 'pg_catalog.pg_statistic_ext_data', 'pg_catalog.pg_largeobject']::pg_catalog.regclass[]::pg_catalog.oid[]`;

/**
 * Catalogs that hold credentials, which an upstream role that is a superuser
 * (or owns a user mapping) reads: every role's password verifier
 * (pg_authid.rolpassword, shown by pg_shadow), user mappings' options (a
 * remote password, shown by pg_user_mappings) and subscriptions' connection
 * strings (pg_subscription.subconninfo); and the settings of ALTER ROLE and
 * ALTER DATABASE … SET (pg_db_role_setting), which any role reads, where an
 * application may keep a secret as a custom setting (app.jwt_secret).
 */
const CREDENTIAL_CATALOGS = `ARRAY['pg_catalog.pg_authid', 'pg_catalog.pg_user_mapping', 'pg_catalog.pg_subscription',
  'pg_catalog.pg_db_role_setting']::pg_catalog.regclass[]::pg_catalog.oid[]`;

/**
 * The server's views that read a credential catalog and show none of its
 * secrets (pg_roles prints `********`; the others read it for role, server or
 * subscription names): the walk for credentials does not look into them. Any
 * other view of the server reading one (pg_shadow, pg_user_mappings,
 * information_schema.user_mapping_options, a newer server's) is looked into,
 * and so refused. Names a server lacks are left out (to_regclass).
 */
const SHOWING_NO_CREDENTIAL = `pg_catalog.array_remove(ARRAY(SELECT pg_catalog.to_regclass(v)::pg_catalog.oid FROM pg_catalog.unnest(ARRAY[
    'pg_catalog.pg_roles', 'pg_catalog.pg_user', 'pg_catalog.pg_group', 'pg_catalog.pg_policies', 'pg_catalog.pg_prepared_xacts',
    'pg_catalog.pg_seclabels', 'pg_catalog.pg_stat_activity', 'pg_catalog.pg_stat_replication', 'pg_catalog.pg_stat_subscription',
    'pg_catalog.pg_stat_subscription_stats', 'information_schema.applicable_roles', 'information_schema.column_privileges',
    'information_schema.enabled_roles', 'information_schema.routine_privileges', 'information_schema.schemata',
    'information_schema.table_privileges', 'information_schema.udt_privileges', 'information_schema.usage_privileges',
    'information_schema._pg_foreign_table_columns', 'information_schema._pg_foreign_data_wrappers',
    'information_schema._pg_foreign_servers', 'information_schema._pg_foreign_tables', 'information_schema.user_mappings'
  ]::pg_catalog.text[]) v), NULL)`;

/**
 * The server's functions that list every setting's value, those that may hold
 * a credential too (primary_conninfo, archive_command), and the one listing
 * pg_hba.conf's lines with their options (an LDAP bind password, a RADIUS
 * secret): pg_settings, pg_file_settings and pg_hba_file_rules call them, and
 * so may a user's view. All are pg_catalog's (as the refusal names them).
 */
const CREDENTIAL_FUNCTIONS = `ARRAY['pg_catalog.pg_show_all_settings', 'pg_catalog.pg_show_all_file_settings',
  'pg_catalog.pg_hba_file_rules']::pg_catalog.regproc[]::pg_catalog.oid[]`;

/**
 * The credential catalogs any run reaches (a read, or a COPY or write a rule
 * allowed by its type), named or through views (the server's, a user's) that
 * show their secrets, and the views reached that call a function listing
 * every setting (pg_settings).
 */
const CREDENTIALS = `SELECT 'credential catalog ' OPERATOR(pg_catalog.||) cn.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) cc.relname
         OPERATOR(pg_catalog.||) COALESCE(' (calling ' OPERATOR(pg_catalog.||) c.calls OPERATOR(pg_catalog.||) ')', '') FROM (
      ${relations(`NOT (rel.oid OPERATOR(pg_catalog.=) ANY (${SHOWING_NO_CREDENTIAL}))`)}
      SELECT DISTINCT rel.oid, NULL::pg_catalog.text AS calls FROM rel WHERE rel.oid OPERATOR(pg_catalog.=) ANY (${CREDENTIAL_CATALOGS})
      UNION
      SELECT rel.oid, 'pg_catalog.' OPERATOR(pg_catalog.||) (SELECT p.proname::pg_catalog.text FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) m[1]::pg_catalog.oid)
        FROM rel, ${RULES}, LATERAL pg_catalog.regexp_matches(w.ev_action::pg_catalog.text, ':funcid (\\d+)', 'g') m
       WHERE m[1]::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (${CREDENTIAL_FUNCTIONS})) c
      JOIN pg_catalog.pg_class cc ON cc.oid OPERATOR(pg_catalog.=) c.oid
      JOIN pg_catalog.pg_namespace cn ON cn.oid OPERATOR(pg_catalog.=) cc.relnamespace`;

/**
 * The functions a view of the server's own or of an installed extension
 * calls that are not on the allow-list ($5): pg_hba_file_rules reads a server
 * file, pg_stat_activity and pg_stat_statements other sessions' SQL. Read
 * from the view's stored tree (a call, an aggregate, a window function),
 * since its text does not parse as the gateway's facts would read it
 * (information_schema's own types and functions, which are the server's, are
 * left aside). An extension's operators and types pass, as they do in SQL;
 * its functions, as when called by name, must be allowed.
 */
const SYSTEM_VIEW_CALLS = `SELECT rel.oid::pg_catalog.regclass::pg_catalog.text, 'function ' OPERATOR(pg_catalog.||) f.q
        FROM rel JOIN pg_catalog.pg_class vc ON vc.oid OPERATOR(pg_catalog.=) rel.oid, ${RULES},
        LATERAL pg_catalog.regexp_matches(w.ev_action::pg_catalog.text, ':(?:funcid|aggfnoid|winfnoid) (\\d+)', 'g') m,
        LATERAL (
          SELECT ${printed('n.nspname')} OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) ${printed('p.proname')} AS q
            FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
           WHERE p.oid OPERATOR(pg_catalog.=) m[1]::pg_catalog.oid AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema') f
       WHERE ${READ_ONLY_RUN} AND vc.relkind OPERATOR(pg_catalog.=) 'v' AND (${SYSTEM_REL} OR ${member('pg_class', 'rel.oid')})
         AND NOT (f.q OPERATOR(pg_catalog.=) ANY ($5::pg_catalog.text[]))`;

/**
 * For any run: the credential catalogs, TOAST tables and statistics catalogs it reads.
 * For a read-only run: every function, operator and type (a domain's CHECK)
 * of a schema other than pg_catalog that the views and row-level-security
 * policies it reads depend on, through views of views, that what the planner
 * folds for them calls, and that domain CHECKs call, must be on the allow-list
 * or an extension's; a relation name the server cannot resolve, and a foreign
 * table (its server runs what no check here sees), are refused too. Postgres records no dependency on its own built-ins, so those
 * are checked on the definitions' text (DEFINITIONS).
 */
export const REACHED = `
    SELECT 'relation ' OPERATOR(pg_catalog.||) r.name FROM pg_catalog.unnest($6::pg_catalog.text[]) r(name)
     WHERE ${READ_ONLY_RUN} AND pg_catalog.to_regclass(r.name) IS NULL
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
             WHERE o.oid OPERATOR(pg_catalog.=) d.refobjid AND ${notCatalog('o.oid')} AND NOT ${member('pg_operator', 'o.oid')})
          WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass THEN (
            SELECT 'type ' OPERATOR(pg_catalog.||) n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.typname
              FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
             WHERE t.oid OPERATOR(pg_catalog.=) d.refobjid AND ${notCatalog('t.oid')} AND NOT ${member('pg_type', 't.oid')}
               AND NOT (t.typtype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'e', 'p']::pg_catalog."char"[]))
               /* A domain's CHECK depends on its domain, whose CHECK it is: what it calls is checked above and by name. */
               AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE obj.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
                                 AND k.oid OPERATOR(pg_catalog.=) obj.objid AND k.contypid OPERATOR(pg_catalog.=) t.oid))
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
       WHERE ${READ_ONLY_RUN}
      UNION ALL
      ${SYSTEM_VIEW_CALLS}
      UNION ALL
      /* A TOAST table holds its table's long values under a name no rule on that table matches. */
      SELECT 'what the SQL reads', 'data catalog ' OPERATOR(pg_catalog.||) dn.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) dc.relname
        FROM rel JOIN pg_catalog.pg_class dc ON dc.oid OPERATOR(pg_catalog.=) rel.oid
        JOIN pg_catalog.pg_namespace dn ON dn.oid OPERATOR(pg_catalog.=) dc.relnamespace
       WHERE rel.oid OPERATOR(pg_catalog.=) ANY (${DATA_CATALOGS}) OR dc.relkind OPERATOR(pg_catalog.=) 't'
      UNION ALL
      /* What a foreign table's server runs to read it (a remote view, file_fdw's program) is out of the check's sight. */
      SELECT 'its server', 'foreign table ' OPERATOR(pg_catalog.||) rel.oid::pg_catalog.regclass::pg_catalog.text
        FROM rel JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) rel.oid
       WHERE ${READ_ONLY_RUN} AND fc.relkind OPERATOR(pg_catalog.=) 'f' AND NOT ${member('pg_class', 'rel.oid')}
    ) x WHERE x.what IS NOT NULL
    UNION ALL
    ${CREDENTIALS}
    UNION ALL
    ${CASTS}
    UNION ALL
    ${OPERATOR_FAMILIES}
    UNION ALL
    ${RANGES}`;

/** The SQL of those views, the expressions of those policies and of domain CHECKs, as the server prints them for this search_path. */
export const DEFINITIONS = `ARRAY(SELECT pg_catalog.to_jsonb(ARRAY[d.via, d.def])::pg_catalog.text FROM (
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
