/**
 * Terms the session check's queries share: which schema an object is in and
 * whether an installed extension owns it. Every operator and function is
 * qualified, so objects on the search_path cannot change what they mean.
 */

/** PostgreSQL's FirstNormalObjectId: every object initdb made has a lower oid, every object made since a higher one. */
const FIRST_NORMAL_OID = '16384::pg_catalog.oid';

/**
 * The object (`oid`, in schema `n`) is not the server's own: outside
 * pg_catalog, or made there after initdb. A superuser may create functions,
 * operators and types in pg_catalog (`CREATE FUNCTION pg_catalog.upper(varchar)`,
 * an overload a varchar argument then resolves to), and an agent whose rule
 * allows creates by type runs as the gateway's role.
 *
 * @example
 * notCatalog('p.oid'); // "(n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog' OR p.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid)"
 */
export function notCatalog(oid: string, schema = 'n.nspname'): string {
  return `(${schema} OPERATOR(pg_catalog.<>) 'pg_catalog' OR ${oid} OPERATOR(pg_catalog.>=) ${FIRST_NORMAL_OID})`;
}

/** The object was made after initdb (for a test on a schema other than `n`). */
export function madeSince(oid: string): string {
  return `${oid} OPERATOR(pg_catalog.>=) ${FIRST_NORMAL_OID}`;
}

/**
 * Whether an object belongs to an installed extension (citext's `=`, PostGIS's
 * geometry): operators, types and row functions of extension scripts are the
 * operator's choice, not something an agent or a database user slipped onto
 * the search_path. Functions called by name get no such pass: the facts must
 * name them as they run (`public.uuid_generate_v4`).
 */
export function member(catalog: string, oid: string): string {
  return `EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.${catalog}'::pg_catalog.regclass
    AND d.objid OPERATOR(pg_catalog.=) ${oid} AND d.deptype OPERATOR(pg_catalog.=) 'e')`;
}
