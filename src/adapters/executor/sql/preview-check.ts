/**
 * What the server holds behind a previewed write's target tables, checked in
 * the preview's transaction right before it runs: an UPDATE or DELETE also
 * runs what the tables carry, on them, on their partitions and children, and
 * on every table a foreign key cascades to. A preview runs only when all of
 * them are plain tables of this session's database (no view, foreign table or
 * temporary table), with no trigger but the server's own foreign-key ones, no
 * rule, no foreign key that sets a DEFAULT (a sequence's, say) on a cascade,
 * and no constraint, index, column default or row-level-security policy that
 * depends on a function, operator or operator class outside pg_catalog
 * (extensions' aside) and not on the allow-list; the CHECK constraints',
 * generated columns' and indexes' expressions are returned too, to check the
 * built-ins they call by name (Postgres records no dependency on those).
 *
 * Like the session check, every operator and function here is qualified, so
 * objects on the search_path cannot change its answer.
 */
import { deriveSqlFacts, type SqlFactsOptions } from './facts.ts';
import { notCatalog } from './guard-terms.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';

const EQ = 'OPERATOR(pg_catalog.=)';
const CAT = 'OPERATOR(pg_catalog.||)';

function member(catalog: string, oid: string): string {
  return `EXISTS (SELECT FROM pg_catalog.pg_depend m WHERE m.classid ${EQ} 'pg_catalog.${catalog}'::pg_catalog.regclass
    AND m.objid ${EQ} ${oid} AND m.deptype ${EQ} 'e')`;
}

/** $1: the target relations as written; $2: the allow-list. */
export const PREVIEW_CHECK_SQL = `WITH RECURSIVE rel(oid) AS (
    SELECT pg_catalog.to_regclass(r.name)::pg_catalog.oid FROM pg_catalog.unnest($1::pg_catalog.text[]) r(name)
  UNION
    SELECT x.oid FROM rel, LATERAL (
      SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent ${EQ} rel.oid
      UNION ALL
      SELECT c.conrelid FROM pg_catalog.pg_constraint c WHERE c.confrelid ${EQ} rel.oid AND c.contype ${EQ} 'f'
    ) x(oid)
  ),
  obj(via, classid, objid) AS (
    SELECT rel.oid, 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid FROM rel JOIN pg_catalog.pg_constraint c ON c.conrelid ${EQ} rel.oid
    UNION ALL
    SELECT rel.oid, 'pg_catalog.pg_attrdef'::pg_catalog.regclass, a.oid FROM rel JOIN pg_catalog.pg_attrdef a ON a.adrelid ${EQ} rel.oid
    UNION ALL
    SELECT rel.oid, 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid FROM rel JOIN pg_catalog.pg_policy p ON p.polrelid ${EQ} rel.oid
    UNION ALL
    SELECT rel.oid, 'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid FROM rel JOIN pg_catalog.pg_index i ON i.indrelid ${EQ} rel.oid
  )
SELECT ARRAY(
    SELECT r.name ${CAT} ' is not a table on this server' FROM pg_catalog.unnest($1::pg_catalog.text[]) r(name) WHERE pg_catalog.to_regclass(r.name) IS NULL
    UNION ALL
    SELECT c.oid::pg_catalog.regclass::pg_catalog.text ${CAT} CASE
        WHEN c.relpersistence ${EQ} 't' THEN ' is a temporary table'
        WHEN c.relkind ${EQ} 'v' THEN ' is a view'
        WHEN c.relkind ${EQ} 'f' THEN ' is a foreign table'
        ELSE ' is not a plain table' END
      FROM rel JOIN pg_catalog.pg_class c ON c.oid ${EQ} rel.oid
     WHERE c.relpersistence ${EQ} 't' OR NOT (c.relkind ${EQ} ANY (ARRAY['r', 'p']::pg_catalog."char"[]))
    UNION ALL
    SELECT 'trigger ' ${CAT} t.tgname ${CAT} ' on ' ${CAT} t.tgrelid::pg_catalog.regclass::pg_catalog.text
      FROM rel JOIN pg_catalog.pg_trigger t ON t.tgrelid ${EQ} rel.oid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'foreign key ' ${CAT} c.conname ${CAT} ' on ' ${CAT} c.conrelid::pg_catalog.regclass::pg_catalog.text ${CAT} ' (SET DEFAULT)'
      FROM rel JOIN pg_catalog.pg_constraint c ON c.conrelid ${EQ} rel.oid
     WHERE c.contype ${EQ} 'f' AND 'd' OPERATOR(pg_catalog.=) ANY (ARRAY[c.confdeltype, c.confupdtype])
    UNION ALL
    SELECT 'rule ' ${CAT} w.rulename ${CAT} ' on ' ${CAT} w.ev_class::pg_catalog.regclass::pg_catalog.text
      FROM rel JOIN pg_catalog.pg_rewrite w ON w.ev_class ${EQ} rel.oid
    UNION ALL
    SELECT q ${CAT} ' (through ' ${CAT} obj.via::pg_catalog.regclass::pg_catalog.text ${CAT} ')' FROM obj
      JOIN pg_catalog.pg_depend d ON d.classid ${EQ} obj.classid AND d.objid ${EQ} obj.objid,
      LATERAL (
        SELECT 'function ' ${CAT} n.nspname ${CAT} '.' ${CAT} p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid ${EQ} p.pronamespace
         WHERE d.refclassid ${EQ} 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid ${EQ} d.refobjid AND NOT ${member('pg_proc', 'p.oid')}
           AND NOT ((n.nspname ${CAT} '.' ${CAT} p.proname) ${EQ} ANY ($2::pg_catalog.text[]))
        UNION ALL
        SELECT 'operator ' ${CAT} n.nspname ${CAT} '.' ${CAT} o.oprname FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid ${EQ} o.oprnamespace
         WHERE d.refclassid ${EQ} 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid ${EQ} d.refobjid
           AND ${notCatalog('o.oid')} AND NOT ${member('pg_operator', 'o.oid')}
        UNION ALL
        SELECT 'operator class ' ${CAT} n.nspname ${CAT} '.' ${CAT} oc.opcname FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_namespace n ON n.oid ${EQ} oc.opcnamespace
         WHERE d.refclassid ${EQ} 'pg_catalog.pg_opclass'::pg_catalog.regclass AND oc.oid ${EQ} d.refobjid
           AND ${notCatalog('oc.oid')} AND NOT ${member('pg_opclass', 'oc.oid')}
      ) f(q)
  ) AS problems,
  ARRAY(
    SELECT pg_catalog.to_jsonb(ARRAY[c.conrelid::pg_catalog.regclass::pg_catalog.text, pg_catalog.pg_get_expr(c.conbin, c.conrelid)])::pg_catalog.text
      FROM rel JOIN pg_catalog.pg_constraint c ON c.conrelid ${EQ} rel.oid WHERE c.contype ${EQ} 'c'
    UNION ALL
    SELECT pg_catalog.to_jsonb(ARRAY[a.adrelid::pg_catalog.regclass::pg_catalog.text, pg_catalog.pg_get_expr(a.adbin, a.adrelid)])::pg_catalog.text
      FROM rel JOIN pg_catalog.pg_attrdef a ON a.adrelid ${EQ} rel.oid
      JOIN pg_catalog.pg_attribute att ON att.attrelid ${EQ} a.adrelid AND att.attnum ${EQ} a.adnum WHERE att.attgenerated OPERATOR(pg_catalog.<>) ''
    UNION ALL
    SELECT pg_catalog.to_jsonb(ARRAY[i.indrelid::pg_catalog.regclass::pg_catalog.text, e])::pg_catalog.text
      FROM rel JOIN pg_catalog.pg_index i ON i.indrelid ${EQ} rel.oid,
      LATERAL (VALUES (pg_catalog.pg_get_expr(i.indexprs, i.indrelid)), (pg_catalog.pg_get_expr(i.indpred, i.indrelid))) v(e)
     WHERE e IS NOT NULL
  ) AS expressions`;

export interface PreviewCheckRow {
  problems: string[];
  expressions: string[];
}

/**
 * Why the write must not run in a preview, or undefined when it may.
 *
 * @example
 * previewRefusal({ problems: ['trigger audit_t on accounts'], expressions: [] }, {}); // 'runs trigger audit_t on accounts, which could act outside the transaction'
 */
export function previewRefusal(row: PreviewCheckRow | undefined, options: SqlFactsOptions): string | undefined {
  if (!row) return 'the preview check returned nothing';
  const allowed = new Set([...READ_ONLY_FUNCTIONS, ...(options.readOnlyFunctions ?? [])]);
  const calls = row.expressions.flatMap((json) => {
    let via = '?';
    try {
      const [relation, expr] = JSON.parse(json) as [string, string];
      via = relation;
      const facts = deriveSqlFacts(`SELECT ${expr}`, options);
      return facts.functions.filter((f) => !allowed.has(f)).map((f) => `function ${f} (through ${via})`);
    } catch {
      return [`an expression the gateway cannot read (through ${via})`];
    }
  });
  const all = [...new Set([...row.problems, ...calls])].sort();
  if (all.length === 0) return undefined;
  const notTables = all.filter((p) => p.endsWith(' on this server') || / is (a|not a) /.test(p));
  if (notTables.length > 0) return notTables.join('; ');
  return `runs ${all.join(', ')}, which could act outside the transaction`;
}
