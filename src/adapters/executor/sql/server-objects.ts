/**
 * Which statements change an object the session check trusts as the server's
 * own (session-guard.ts, session-reach.ts): a function, operator, type or
 * operator family of pg_catalog by its oid (initdb's, below
 * FirstNormalObjectId), a domain of pg_catalog or information_schema by the
 * domain's oid, a cast by its function. A statement that changes such an
 * object in place keeps the oid, and with it the trust: `CREATE OR REPLACE
 * FUNCTION pg_catalog.upper(text)` swaps the body, `ALTER FUNCTION
 * pg_read_file(text) RENAME TO sha256` puts a server-file reader under an
 * allow-listed name, `ALTER DOMAIN information_schema.cardinal_number ADD
 * CHECK (…)` runs the agent's CHECK on every read of information_schema,
 * `CREATE CAST (text AS oid) WITH FUNCTION lo_import(text)` makes a cast the
 * check leaves to the server; and so does `CREATE CAST (int4 AS text) WITH
 * FUNCTION public.leak(int4) AS ASSIGNMENT`, a cast between two of the
 * server's types (pg_cast has no schema: every session's INSERT of a number
 * into a text column then ran leak). Such a statement is also of type `catalog`,
 * which a rule allowing creates or alters by type must name too (a
 * superuser's business, never an agent's).
 *
 * A statement that makes an object names its schema or makes it in the first
 * schema of the search_path, never pg_catalog; one that finds an object
 * already there finds a name without a schema in pg_catalog first (it is
 * searched before the search_path's schemas), so such a name counts as the
 * server's: write `ALTER FUNCTION public.f(int) …`. Relations are the
 * exception: PostgreSQL itself refuses to alter pg_catalog's (system
 * catalogs), so only a relation written in information_schema or pg_toast counts.
 *
 * A function the connection's `readOnlyFunctions` trusts is trusted by name
 * (every overload, in any schema): one of the agent's made, replaced, renamed,
 * moved or altered under that name would run on any read calling it. Such a
 * statement is also of type `read_only_function`.
 */
import { quotedName } from './invocations.ts';

/** The schemas initdb fills: what is there is the server's own to the session check (session-reach.ts). */
const SERVER_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

type Payload = Readonly<Record<string, unknown>>;

/** Where each defining statement names the object it makes or replaces: a name without a schema is not pg_catalog's. */
const MADE: Readonly<Record<string, (p: Payload) => unknown>> = {
  CreateFunctionStmt: (p) => p['funcname'],
  DefineStmt: (p) => p['defnames'],
  ViewStmt: (p) => p['view'],
  RuleStmt: (p) => p['relation'],
  CreateTrigStmt: (p) => p['relation'],
  CreateStmt: (p) => p['relation'],
  CompositeTypeStmt: (p) => p['typevar'],
  CreateEnumStmt: (p) => p['typeName'],
  CreateRangeStmt: (p) => p['typeName'],
  CreateDomainStmt: (p) => p['domainname'],
  CreateOpClassStmt: (p) => p['opclassname'],
  CreateOpFamilyStmt: (p) => p['opfamilyname'],
  CreateConversionStmt: (p) => p['conversion_name'],
};

/** Where each statement names an object it finds and changes (or, for CREATE CAST, calls): a name without a schema may be pg_catalog's. */
const FOUND: Readonly<Record<string, (p: Payload) => unknown>> = {
  AlterFunctionStmt: (p) => objectName(p['func']),
  RenameStmt: (p) => p['relation'] ?? objectName(p['object']),
  AlterObjectSchemaStmt: (p) => p['relation'] ?? objectName(p['object']),
  AlterDomainStmt: (p) => p['typeName'],
  AlterTypeStmt: (p) => p['typeName'],
  AlterEnumStmt: (p) => p['typeName'],
  AlterOperatorStmt: (p) => objectName(p['opername']),
  AlterOpFamilyStmt: (p) => p['opfamilyname'],
  // An operator class made into an existing family adds its functions to that family.
  CreateOpClassStmt: (p) => p['opfamilyname'],
  AlterTableStmt: (p) => p['relation'],
  AlterTSConfigurationStmt: (p) => p['cfgname'],
  AlterTSDictionaryStmt: (p) => p['dictname'],
  // The session check trusts a cast by its function: one of pg_catalog's is the server's (WITHOUT FUNCTION and WITH INOUT call none).
  CreateCastStmt: (p) => objectName(p['func']),
};

/**
 * Whether the statement makes, replaces or changes an object the session check trusts as the server's (see above).
 *
 * @example
 * changesServerObject('CreateFunctionStmt', { funcname: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'upper' } }] }); // true
 * changesServerObject('RenameStmt', { renameType: 'OBJECT_FUNCTION', object: { ObjectWithArgs: { objname: [{ String: { sval: 'pg_read_file' } }] } } }); // true
 */
export function changesServerObject(node: string, payload: Payload): boolean {
  if (node === 'AlterObjectSchemaStmt' && SERVER_SCHEMAS.has(String(payload['newschema']))) return true;
  if (node === 'RenameStmt' && payload['renameType'] === 'OBJECT_SCHEMA') return SERVER_SCHEMAS.has(String(payload['subname']));
  // pg_cast has no schema: a cast between two of the server's types changes every session's expressions of them.
  if (node === 'CreateCastStmt' && [payload['sourcetype'], payload['targettype']].every((t) => isRecord(t) && inServerSchema(t['names'], true))) return true;
  const made = MADE[node]?.(payload);
  if (made !== undefined && inServerSchema(made, false)) return true;
  const found = FOUND[node]?.(payload);
  return found !== undefined && inServerSchema(found, true);
}

/**
 * Whether the statement makes, replaces, renames (to or from), moves, re-owns or alters a function, procedure or
 * aggregate under a name the connection's `readOnlyFunctions` trusts (`trusted`, as the facts name functions), in any
 * schema: the name is what is trusted.
 *
 * @example
 * changesTrustedFunction('CreateFunctionStmt', { funcname: [{ String: { sval: 'early' } }, { String: { sval: 'report_totals' } }] }, ['public.report_totals']); // true
 */
export function changesTrustedFunction(node: string, payload: Payload, trusted: readonly string[] = []): boolean {
  return trusted.length > 0 && functionNames(node, payload).some((name) => isTrusted(name, trusted));
}

/**
 * The statement types a statement has besides its own: `catalog` (changesServerObject), `read_only_function`
 * (changesTrustedFunction), `select` for the query of a `COPY (SELECT …) TO`, and `replace` for `CREATE OR
 * REPLACE` of a function, procedure or aggregate that may already exist. A replacement keeps what the function is to
 * everything that calls it (its oid, its membership of an extension, the operators and casts built on it, its name) and
 * swaps what it does: `CREATE OR REPLACE FUNCTION public.citext_eq(citext, citext)` keeps citext's `=` an installed
 * extension's, which the session check leaves to the operator, and any read comparing a citext column then ran the
 * agent's body. Its body is text the facts do not see: not a `create` of something new.
 *
 * @example
 * extraTypes('CreateFunctionStmt', { replace: true, funcname: [{ String: { sval: 'f' } }] }); // ['replace']
 */
export function extraTypes(node: string, payload: Payload, trusted: readonly string[] = []): string[] {
  const replaces = payload['replace'] === true && (node === 'CreateFunctionStmt' || (node === 'DefineStmt' && payload['kind'] === 'OBJECT_AGGREGATE'));
  // COPY (SELECT …) TO STDOUT runs its query: listed as the statement it is, so a rule allowing `copy` by type does
  // not allow what the query calls (pg_terminate_backend, nextval) that no rule would allow in the SELECT alone.
  // A nested INSERT, UPDATE, DELETE or MERGE (… RETURNING) is listed as the nested write it is (facts.ts).
  const copied = node === 'CopyStmt' && isRecord(payload['query']) && isRecord(payload['query']['SelectStmt']);
  return [
    ...(changesServerObject(node, payload) ? ['catalog'] : []),
    ...(changesTrustedFunction(node, payload, trusted) ? ['read_only_function'] : []),
    ...(replaces ? ['replace'] : []),
    ...(copied ? ['select'] : []),
  ];
}

/** Object kinds that are functions, called by name as readOnlyFunctions lists them. */
const FUNCTION_KINDS: ReadonlySet<string> = new Set(['OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE']);

/**
 * The function names a statement makes, replaces or changes, and those it gives one (a rename's new name, a move's new
 * schema): `readOnlyFunctions` trusts every overload of a name, so an agent's `public.report_totals(int)`, or its
 * function renamed or moved to that name, would run on a read as the operator's.
 */
function functionNames(node: string, p: Payload): string[][] {
  const parts = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((i) => (isRecord(i) && isRecord(i['String']) ? [String(i['String']['sval'])] : [])) : []);
  switch (node) {
    case 'CreateFunctionStmt':
      return [parts(p['funcname'])];
    case 'DefineStmt':
      return p['kind'] === 'OBJECT_AGGREGATE' ? [parts(p['defnames'])] : [];
    case 'AlterFunctionStmt':
      return [parts(objectName(p['func']))];
    case 'AlterOwnerStmt':
      return FUNCTION_KINDS.has(String(p['objectType'])) ? [parts(objectName(p['object']))] : [];
    case 'RenameStmt':
    case 'AlterObjectSchemaStmt': {
      if (!FUNCTION_KINDS.has(String(p[node === 'RenameStmt' ? 'renameType' : 'objectType']))) return [];
      const name = parts(objectName(p['object']));
      const to = node === 'RenameStmt' ? [...name.slice(0, -1), String(p['newname'])] : [String(p['newschema']), name[name.length - 1] ?? ''];
      return [name, to];
    }
  }
  return [];
}

/**
 * Whether a trusted entry has the name's last part, whatever its schema: a name without one may be made in, or found
 * in, any schema of the search_path, and one in another schema is the same name to a reader of the list.
 */
function isTrusted(name: readonly string[], trusted: readonly string[]): boolean {
  const last = name[name.length - 1];
  if (last === undefined || last === '') return false;
  const bare = `.${quotedName([last])}`;
  return trusted.some((t) => t.endsWith(bare));
}

/**
 * Whether a name (a RangeVar, or a list of String nodes) is in a schema initdb fills; `bare`: whether a name without a
 * schema may be (an existing object found by name; a relation's never is, see above).
 */
function inServerSchema(name: unknown, bare: boolean): boolean {
  if (isRecord(name)) return typeof name['schemaname'] === 'string' && SERVER_SCHEMAS.has(name['schemaname']);
  if (!Array.isArray(name) || name.length === 0) return false;
  if (name.length === 1) return bare;
  const schema = name[name.length - 2];
  return isRecord(schema) && isRecord(schema['String']) && SERVER_SCHEMAS.has(String(schema['String']['sval']));
}

/** The name list of an ObjectWithArgs (wrapped or bare) or a List of String nodes; a bare String (a language, a server) is no schema object. */
function objectName(object: unknown): unknown {
  if (!isRecord(object)) return undefined;
  const inner = isRecord(object['ObjectWithArgs']) ? object['ObjectWithArgs'] : object;
  if (Array.isArray(inner['objname'])) return inner['objname'];
  return isRecord(object['List']) && Array.isArray(object['List']['items']) ? object['List']['items'] : undefined;
}

function isRecord(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
