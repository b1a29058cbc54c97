/**
 * Terms the session check's queries share: which schema an object is in and
 * whether an installed extension owns it. Every operator and function is
 * qualified, so objects on the search_path cannot change what they mean.
 */

/** The object's schema (`n`) is not pg_catalog. */
export const NOT_CATALOG = "n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'";

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
