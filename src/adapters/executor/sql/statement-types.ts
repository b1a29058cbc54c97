/**
 * The table from Postgres parse-node names (`SelectStmt`, `AlterRoleStmt`, …)
 * to the short statement types policy rules match on, and the families
 * (DDL, privilege) a rule can ask about without listing every node name.
 * It lives apart from the tree walk because it is a vocabulary, not logic.
 */

/**
 * Every statement node of the parser (libpg-query, PostgreSQL 17's grammar) reviewed for what a rule allowing its type
 * by name lets through (statement-types.test.ts lists them all): the ones below, and those whose own snake-cased name
 * is their type (`ClusterStmt`: `cluster`, `LoadStmt`: `load`, `SecLabelStmt`: `sec_label`), which a rule must name.
 * A node missing here (a parser upgrade's) gets its snake-cased name too, never `create`, `alter` or `drop`: a rule
 * allowing those by type means the schema objects reviewed as such, not whatever a new statement's name begins with.
 */
const EXPLICIT: Readonly<Record<string, string>> = {
  SelectStmt: 'select',
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
  // Schema objects of this database.
  ...Object.fromEntries(
    ['CreateStmt', 'CreateTableAsStmt', 'CreateSeqStmt', 'CreateSchemaStmt', 'CreateDomainStmt', 'CreateEnumStmt', 'CreateRangeStmt', 'CompositeTypeStmt', 'IndexStmt', 'ViewStmt', 'DefineStmt', 'RuleStmt', 'CreateTrigStmt', 'CreatePolicyStmt', 'CreateStatsStmt', 'CreateCastStmt', 'CreateConversionStmt', 'CreateOpClassStmt', 'CreateOpFamilyStmt', 'CreateFunctionStmt'].map((n) => [n, 'create']),
  ),
  // Written as ALTER … RENAME / SET SCHEMA / OWNER TO, among the others.
  ...Object.fromEntries(
    ['AlterTableStmt', 'AlterSeqStmt', 'AlterDomainStmt', 'AlterEnumStmt', 'AlterTypeStmt', 'AlterFunctionStmt', 'AlterOperatorStmt', 'AlterOpFamilyStmt', 'AlterPolicyStmt', 'AlterStatsStmt', 'AlterCollationStmt', 'AlterTSConfigurationStmt', 'AlterTSDictionaryStmt', 'AlterObjectDependsStmt', 'RenameStmt', 'AlterObjectSchemaStmt', 'AlterOwnerStmt'].map((n) => [n, 'alter']),
  ),
  DropStmt: 'drop',
  // Drops of objects of a type of their own take that type (OWN_KIND for DropStmt's): a rule allowing drops of this
  // database's objects by type means none of them.
  DropTableSpaceStmt: 'tablespace',
  DropUserMappingStmt: 'foreign_data',
  DropSubscriptionStmt: 'subscription',
  // A database, not an object in one: DROP DATABASE can only name another than the session's, ALTER DATABASE …
  // ALLOW_CONNECTIONS false or RENAME locks every client of one out, CREATE DATABASE … TEMPLATE copies one. A rule
  // allowing this database's creates, alters or drops by type means none of that (renames and owner changes below).
  ...Object.fromEntries(['CreatedbStmt', 'AlterDatabaseStmt', 'AlterDatabaseRefreshCollStmt', 'DropdbStmt'].map((n) => [n, 'database'])),
  // Drops every object a role owns (tables a rule denies among them), none of them named: not a `drop` of named objects.
  DropOwnedStmt: 'drop_owned',
  // Makes an object the extension's, or no longer: the session check leaves an installed extension's casts, operator
  // families, range types and domains to the operator, so an object of the agent's made an extension's would pass
  // unchecked. Not an `alter` a rule allowing alters by type matches.
  AlterExtensionContentsStmt: 'extension_member',
  // The server's own configuration (postgresql.auto.conf: archive_command, a shell command the server runs), for every
  // database and role: not an `alter` of a schema object, which a rule allowing alters by type means.
  AlterSystemStmt: 'alter_system',
  // The settings of every role's sessions in a database, as ALTER ROLE … SET is a role's (session_replication_role =
  // replica turns its triggers and foreign keys off, log_statement = none its own log of what agents run).
  AlterDatabaseSetStmt: 'alter_system',
  // The database subscribes to a publication of a server the statement names: its apply worker then writes every table
  // the publication lists (none of them named here), fetched from wherever the connection string points.
  CreateSubscriptionStmt: 'subscription',
  AlterSubscriptionStmt: 'subscription',
  // An extension is the server's code run with the gateway role's rights (dblink and postgres_fdw reach other servers,
  // file_fdw and adminpack its files, an untrusted language anything), and the session check leaves an installed
  // extension's objects to the operator: not a `create` or `alter` a rule allowing those by type matches.
  CreateExtensionStmt: 'extension',
  AlterExtensionStmt: 'extension',
  // An event trigger runs its function on every later DDL of every session (another principal's approved DDL among
  // them), and enabling one the operator left off does too: not a `create` or `alter` a rule allowing those by type matches.
  CreateEventTrigStmt: 'event_trigger',
  AlterEventTrigStmt: 'event_trigger',
  // Registers C code the server then runs (a procedural language's handler, a transform's, an access method's), which
  // with a superuser gateway role is anything the server's OS user may do: not a `create` of a schema object.
  CreatePLangStmt: 'untrusted_code',
  CreateTransformStmt: 'untrusted_code',
  CreateAmStmt: 'untrusted_code',
  // Foreign data: a foreign table of file_fdw reads a server file or runs a program (`OPTIONS (program 'curl … | sh')`),
  // one of postgres_fdw reads another server through the operator's user mapping, a server or a user mapping says where
  // to connect and with what password, a wrapper names C handlers. Not a `create` or `alter` of this database's objects.
  ...Object.fromEntries(
    ['CreateFdwStmt', 'AlterFdwStmt', 'CreateForeignServerStmt', 'AlterForeignServerStmt', 'CreateUserMappingStmt', 'AlterUserMappingStmt', 'ImportForeignSchemaStmt', 'CreateForeignTableStmt'].map((n) => [n, 'foreign_data']),
  ),
  // Publishes tables to whoever subscribes: FOR ALL TABLES or TABLES IN SCHEMA every one of them, none named.
  CreatePublicationStmt: 'publication',
  AlterPublicationStmt: 'publication',
  // A directory of the server's file system; ALTER TABLE ALL IN TABLESPACE moves every table in one, none named.
  CreateTableSpaceStmt: 'tablespace',
  AlterTableSpaceOptionsStmt: 'tablespace',
  AlterTableMoveAllStmt: 'tablespace',
  TruncateStmt: 'truncate',
  CommentStmt: 'comment',
  CreateRoleStmt: 'create_role',
  AlterRoleStmt: 'alter_role',
  AlterRoleSetStmt: 'alter_role',
  DropRoleStmt: 'drop_role',
  AlterDefaultPrivilegesStmt: 'grant',
  CopyStmt: 'copy',
  ExplainStmt: 'explain',
  VariableSetStmt: 'set',
  VariableShowStmt: 'show',
  TransactionStmt: 'transaction',
  CallStmt: 'call',
  DoStmt: 'do',
};

/** Statement types that change the schema. */
export const DDL_TYPES: ReadonlySet<string> = new Set([
  ...['create', 'alter', 'alter_system', 'subscription', 'drop', 'drop_owned', 'extension_member', 'extension', 'event_trigger', 'truncate', 'comment'],
  ...['untrusted_code', 'foreign_data', 'publication', 'tablespace', 'database'],
]);

/**
 * Whether a statement changes the schema: its type is DDL, or its node was never reviewed (a parser upgrade's) and its
 * name says it makes, alters or drops something.
 *
 * @example
 * countsAsDdl('CreatePropertyGraphStmt', 'create_property_graph'); // true
 */
export function countsAsDdl(node: string, type: string): boolean {
  return DDL_TYPES.has(type) || (EXPLICIT[node] === undefined && /^(Create|Alter|Drop)[A-Za-z]/.test(node));
}

/** Statement types that change who may do what (every privilege node maps to one of these). */
export const PRIVILEGE_TYPES: ReadonlySet<string> = new Set(['grant', 'revoke', 'create_role', 'alter_role', 'drop_role']);

/**
 * Whether a parse node hands objects to another owner (REASSIGN OWNED, ALTER … OWNER TO, ALTER TABLE … OWNER TO): the
 * new owner holds every privilege on them and may grant them, so the statement is a privilege change too.
 *
 * @example
 * changesOwner('AlterTableCmd', { subtype: 'AT_ChangeOwner' }); // true
 */
export function changesOwner(node: string, payload: Readonly<Record<string, unknown>>): boolean {
  return node === 'ReassignOwnedStmt' || node === 'AlterOwnerStmt' || (node === 'AlterTableCmd' && payload['subtype'] === 'AT_ChangeOwner');
}

/**
 * The UPDATE an `INSERT … ON CONFLICT DO UPDATE` runs on the rows already there that new ones collide with (an
 * upsert changes rows, which a rule allowing inserts means to leave alone); `hasWhere`: whether its DO UPDATE has a
 * WHERE. Undefined for any other statement.
 *
 * @example
 * upsertUpdate('InsertStmt', { onConflictClause: { action: 'ONCONFLICT_UPDATE' } }); // { node: 'OnConflictClause', type: 'update', hasWhere: false }
 */
export function upsertUpdate(node: string, payload: Readonly<Record<string, unknown>>): { node: string; type: string; hasWhere: boolean } | undefined {
  const clause = node === 'InsertStmt' ? payload['onConflictClause'] : undefined;
  if (!isRecord(clause) || clause['action'] !== 'ONCONFLICT_UPDATE') return undefined;
  return { node: 'OnConflictClause', type: 'update', hasWhere: clause['whereClause'] !== undefined };
}

/** What each WHEN of a MERGE may run. */
const MERGE_COMMANDS: Readonly<Record<string, string>> = { CMD_INSERT: 'insert', CMD_UPDATE: 'update', CMD_DELETE: 'delete' };

/**
 * The INSERT, UPDATE and DELETE the WHEN clauses of a MERGE run (a MERGE is all three kinds of write, which rules by
 * statement type judge one by one: a rule denying deletes must see `WHEN MATCHED THEN DELETE`). Empty for any other
 * statement, and for `DO NOTHING`. `hasWhere` is null: which rows a clause reaches is the join's, not a WHERE's.
 *
 * @example
 * mergeWrites('MergeStmt', { mergeWhenClauses: [{ MergeWhenClause: { commandType: 'CMD_DELETE' } }] }); // [{ node: 'MergeWhenClause', type: 'delete', hasWhere: null }]
 */
export function mergeWrites(node: string, payload: Readonly<Record<string, unknown>>): { node: string; type: string; hasWhere: null }[] {
  const clauses = node === 'MergeStmt' ? payload['mergeWhenClauses'] : undefined;
  if (!Array.isArray(clauses)) return [];
  const types = new Set<string>();
  for (const c of clauses) {
    const when = isRecord(c) ? c['MergeWhenClause'] : undefined;
    const type = isRecord(when) ? MERGE_COMMANDS[String(when['commandType'])] : undefined;
    if (type !== undefined) types.add(type);
  }
  return [...types].map((type) => ({ node: 'MergeWhenClause', type, hasWhere: null }));
}

/**
 * A CASCADE reaches objects the statement does not name: `TRUNCATE t CASCADE` empties every table whose foreign key
 * points at t, `DROP FUNCTION f CASCADE` drops the triggers that call it (an audit trigger on a table a rule denies),
 * `DROP SCHEMA s CASCADE` every object in s. A rule judging the named tables, or allowing drops or truncates by type,
 * never sees those: the CASCADE is listed as a statement of its own, type `cascade`, which a rule must name to allow.
 *
 * @example
 * cascades({ behavior: 'DROP_CASCADE' }); // true
 */
export function cascades(payload: Readonly<Record<string, unknown>>): boolean {
  return payload['behavior'] === 'DROP_CASCADE';
}

/**
 * DropStmt object kinds that name a relation a query could read, by how many parts end its name after the relation's:
 * a table or view is its name; a policy, trigger or rule is `table.name` (`DROP POLICY p ON secrets`: secrets' row-level
 * security, which a rule about secrets must see).
 */
export const DROPPED_RELATION_KINDS: ReadonlyMap<string, number> = new Map([
  ['OBJECT_TABLE', 0],
  ['OBJECT_VIEW', 0],
  ['OBJECT_MATVIEW', 0],
  ['OBJECT_FOREIGN_TABLE', 0],
  ['OBJECT_POLICY', 1],
  ['OBJECT_TRIGGER', 1],
  ['OBJECT_RULE', 1],
]);

/**
 * The lower-case statement type of one parse node.
 *
 * @example
 * statementType('GrantStmt', { is_grant: true }); // 'grant'
 * statementType('RefreshMatViewStmt', {});        // 'refresh_mat_view'
 */
export function statementType(node: string, payload: Readonly<Record<string, unknown>>): string {
  // The parser omits false booleans, so a REVOKE has no is_grant key at all.
  if (node === 'GrantStmt' || node === 'GrantRoleStmt') return payload['is_grant'] === true ? 'grant' : 'revoke';
  if (node === 'RenameStmt' && payload['renameType'] === 'OBJECT_ROLE') return 'alter_role';
  const moved =
    node === 'RenameStmt' ? payload['renameType'] : node === 'AlterOwnerStmt' || node === 'AlterObjectSchemaStmt' ? payload['objectType'] : node === 'DropStmt' ? payload['removeType'] : undefined;
  if (typeof moved === 'string' && OWN_KIND[moved] !== undefined) return OWN_KIND[moved];
  // PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED: two-phase commit, which ends a transaction any session prepared.
  if (node === 'TransactionStmt' && typeof payload['kind'] === 'string' && /^TRANS_STMT_(PREPARE|COMMIT_PREPARED|ROLLBACK_PREPARED)$/.test(payload['kind'])) {
    return 'prepared_transaction';
  }
  // COPY of a file on the database server, or of a program it runs (`FROM PROGRAM 'curl … | sh'`): not the COPY
  // FROM STDIN / TO STDOUT a rule for `copy` means to let a client load or read rows. A rule must name it to allow it.
  if (node === 'CopyStmt' && (payload['filename'] !== undefined || payload['is_program'] === true)) return 'copy_server';
  // SELECT … INTO is CREATE TABLE … AS by another name (the server runs it as one): it makes a table.
  if (node === 'SelectStmt' && leftmostSelect(payload)['intoClause'] !== undefined) return 'create';
  return reachType(node, payload) ?? EXPLICIT[node] ?? snakeCase(node);
}

/**
 * Objects of a type of their own (not this database's schema objects), by the object kind a rename, owner change,
 * SET SCHEMA or drop names: ALTER … RENAME / OWNER TO / SET SCHEMA or DROP of one is that type too, not an `alter` or a
 * `drop` (`ALTER PUBLICATION p RENAME` breaks every subscriber elsewhere, `ALTER TABLESPACE t RENAME` every database's
 * `TABLESPACE t`, `DROP EXTENSION pgaudit` or `DROP EVENT TRIGGER` of the operator's DDL log what records agents' DDL).
 */
const OWN_KIND: Readonly<Record<string, string>> = {
  OBJECT_DATABASE: 'database',
  OBJECT_TABLESPACE: 'tablespace',
  OBJECT_PUBLICATION: 'publication',
  OBJECT_SUBSCRIPTION: 'subscription',
  OBJECT_FDW: 'foreign_data',
  OBJECT_FOREIGN_SERVER: 'foreign_data',
  OBJECT_EVENT_TRIGGER: 'event_trigger',
  OBJECT_LANGUAGE: 'untrusted_code',
  OBJECT_EXTENSION: 'extension',
  OBJECT_ACCESS_METHOD: 'untrusted_code',
  OBJECT_TRANSFORM: 'untrusted_code',
};

/** Languages whose functions the server runs in its sandbox (`lanpltrusted`): any other, C and internal among them, runs the server's code. */
const TRUSTED_LANGUAGES: ReadonlySet<string> = new Set(['sql', 'plpgsql', 'plperl', 'pltcl']);

/**
 * The type of a node whose statement reaches past the database's own objects by what it says rather than by its node:
 * a function in an untrusted language (`LANGUAGE c AS '$libdir/adminpack', 'pg_file_write_v1_1'` binds a C function of
 * any library the server has, no CREATE EXTENSION needed; plpython3u runs anything), a base type or text search parser
 * or template, a base type's functions set by ALTER TYPE (C functions the server calls on every value or document), a
 * foreign table's options (file_fdw's
 * `filename`, `program`).
 */
function reachType(node: string, payload: Readonly<Record<string, unknown>>): string | undefined {
  if (node === 'CreateFunctionStmt') {
    const options = Array.isArray(payload['options']) ? payload['options'] : [];
    const language = options.map((o) => (isRecord(o) && isRecord(o['DefElem']) ? o['DefElem'] : {})).find((d) => d['defname'] === 'language');
    const arg = language !== undefined && isRecord(language['arg']) && isRecord(language['arg']['String']) ? language['arg']['String']['sval'] : undefined;
    // Without LANGUAGE, only a body written in SQL (RETURN …, BEGIN ATOMIC …) is SQL; the server refuses the rest.
    const trusted = language === undefined ? payload['sql_body'] !== undefined : typeof arg === 'string' && TRUSTED_LANGUAGES.has(arg);
    return trusted ? undefined : 'untrusted_code';
  }
  if (node === 'DefineStmt') {
    const kind = payload['kind'];
    const baseType = kind === 'OBJECT_TYPE' && Array.isArray(payload['definition']) && payload['definition'].length > 0;
    return baseType || kind === 'OBJECT_TSPARSER' || kind === 'OBJECT_TSTEMPLATE' ? 'untrusted_code' : undefined;
  }
  if (node === 'AlterTypeStmt') {
    const options = Array.isArray(payload['options']) ? payload['options'] : [];
    return options.some((o) => isRecord(o) && isRecord(o['DefElem']) && TYPE_FUNCTIONS.has(String(o['DefElem']['defname']))) ? 'untrusted_code' : undefined;
  }
  if (node === 'AlterTableStmt') {
    const cmds = Array.isArray(payload['cmds']) ? payload['cmds'] : [];
    const options = cmds.some((c) => isRecord(c) && isRecord(c['AlterTableCmd']) && /^AT_(AlterColumn)?GenericOptions$/.test(String(c['AlterTableCmd']['subtype'])));
    return options || payload['objtype'] === 'OBJECT_FOREIGN_TABLE' ? 'foreign_data' : undefined;
  }
  return undefined;
}

/** ALTER TYPE … SET options naming a base type's functions, which take `internal` (C code the server calls on every value). */
const TYPE_FUNCTIONS: ReadonlySet<string> = new Set(['receive', 'send', 'typmod_in', 'typmod_out', 'analyze', 'subscript']);

function snakeCase(node: string): string {
  return node
    .replace(/Stmt$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The leftmost SELECT of a UNION, INTERSECT or EXCEPT (the statement itself when it is none): where the server looks
 * for an INTO (transformOptionalSelectInto), so `SELECT 1 INTO t UNION SELECT 2` makes t from the whole.
 * `larg` holds its SELECT bare, without the `{ SelectStmt: … }` wrapper.
 *
 * @example
 * leftmostSelect({ op: 'SETOP_UNION', larg: { intoClause: {…} }, rarg: {…} }); // { intoClause: {…} }
 */
function leftmostSelect(payload: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  let select = payload;
  for (let larg = select['larg']; isRecord(larg); larg = select['larg']) select = isRecord(larg['SelectStmt']) ? larg['SelectStmt'] : larg;
  return select;
}

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
