/**
 * The session settings the gateway pins on every upstream connection, and
 * the few an action may change itself.
 *
 * The parser that derives facts (libpg-query) reads text as a server with
 * `standard_conforming_strings = on`, `backslash_quote = safe_encoding` and a
 * UTF-8 client would: with `standard_conforming_strings = off`, `'x\''` ends
 * somewhere else, and in SJIS, BIG5 or GBK a 0x5c byte can hide inside a
 * character. So these are sent as startup options (which win over `ALTER
 * ROLE/DATABASE … SET`) and checked before every run. An action may SET only
 * the settings listed here: a change of how text parses, of which function a
 * name resolves to (`search_path`), of who runs it (`SET ROLE`, `SET SESSION
 * AUTHORIZATION`), of its time bound (`statement_timeout`, `lock_timeout`, …)
 * or of read-only mode is refused, as is `RESET ALL`.
 */
import { CountersignError } from '../../../core/errors.ts';

/** Settings the upstream session must show, as `current_setting()` reports them. */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  standard_conforming_strings: 'on',
  backslash_quote: 'safe_encoding',
  client_encoding: 'UTF8',
});

/** Settings an action may change with SET, SET LOCAL, RESET or set_config(): planner, memory and display. */
const SETTABLE: ReadonlySet<string> = new Set([
  'application_name',
  'bytea_output',
  'constraint_exclusion',
  'cpu_index_tuple_cost',
  'cpu_operator_cost',
  'cpu_tuple_cost',
  'cursor_tuple_fraction',
  'datestyle',
  'default_statistics_target',
  'effective_cache_size',
  'extra_float_digits',
  'from_collapse_limit',
  'geqo',
  'intervalstyle',
  'jit',
  'join_collapse_limit',
  'lc_messages',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'maintenance_work_mem',
  'parallel_setup_cost',
  'parallel_tuple_cost',
  'plan_cache_mode',
  'random_page_cost',
  'seq_page_cost',
  'temp_buffers',
  'timezone',
  'work_mem',
  'max_parallel_workers_per_gather',
  'xmloption',
]);

function settable(name: string): boolean {
  const n = name.toLowerCase();
  return SETTABLE.has(n) || /^enable_[a-z_]+$/.test(n);
}

/**
 * Refuses a SET / RESET statement of a setting outside the allow-list
 * (`payload` is a VariableSetStmt).
 *
 * @example
 * checkVariableSet({ kind: 'VAR_SET_VALUE', name: 'standard_conforming_strings' }); // throws SQL_SETTING_REFUSED
 */
export function checkVariableSet(payload: Readonly<Record<string, unknown>>): void {
  const name = typeof payload['name'] === 'string' ? payload['name'] : undefined;
  if (payload['kind'] === 'VAR_RESET_ALL') refuse('RESET ALL');
  // SET TRANSACTION / SESSION CHARACTERISTICS: isolation and read-only mode are the gateway's.
  if (payload['kind'] === 'VAR_SET_MULTI' || name === undefined || !settable(name)) refuse(name ?? String(payload['kind']));
  if (payload['kind'] === 'VAR_SET_VALUE') checkMemory(name, Array.isArray(payload['args']) ? (payload['args'][0] as unknown) : undefined);
}

/** The most a memory setting an action may change is set to, in kB: per sort or hash, per worker; 1 GB. */
export const MEMORY_CAP_KB = 1024 * 1024;

/** Memory settings an action may change, and the size in kB of their unit when the value has none (temp_buffers: 8 kB pages). */
const MEMORY_SETTINGS: Readonly<Record<string, number>> = Object.freeze({ work_mem: 1, maintenance_work_mem: 1, temp_buffers: 8 });

const MEMORY_UNITS_KB: Readonly<Record<string, number>> = Object.freeze({ B: 1 / 1024, kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 });

/**
 * Refuses a memory setting's value over MEMORY_CAP_KB, or one whose size the check cannot read (computed, hexadecimal,
 * an exponent): `SET work_mem = '2000GB'` lets one sort of one statement take the database server's memory.
 * `value` is the parse tree's constant (A_Const).
 *
 * @example
 * checkMemory('work_mem', { A_Const: { sval: { sval: '64MB' } } });   // fine
 * checkMemory('work_mem', { A_Const: { sval: { sval: '2000GB' } } }); // throws SQL_SETTING_REFUSED
 */
function checkMemory(name: string, value: unknown): void {
  const unit = MEMORY_SETTINGS[name.toLowerCase()];
  if (unit === undefined) return;
  const c = isObject(value) && isObject(value['A_Const']) ? value['A_Const'] : {};
  const text = [c['sval'], c['ival'], c['fval']].map((v) => (isObject(v) ? (v['sval'] ?? v['ival'] ?? v['fval']) : undefined)).find((v) => v !== undefined);
  // An integer constant 0 has no ival in the parse tree.
  const shown = text === undefined && isObject(c['ival']) ? '0' : String(text ?? '');
  const m = /^\s*(\d{1,12}(?:\.\d{0,12})?)\s*(B|kB|MB|GB|TB)?\s*$/.exec(shown);
  const kb = m ? Number(m[1]) * (m[2] ? MEMORY_UNITS_KB[m[2]]! : unit) : Infinity;
  if (!(kb <= MEMORY_CAP_KB)) refuse(`${name.toLowerCase()} to more than 1GB, or to a size the gateway cannot read`);
}

/**
 * Refuses a write to `pg_settings` (`UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'`):
 * its update rule calls set_config() for each row, so the statement is a SET of whatever setting its WHERE picks,
 * which no check can read off the text. `payload` is an INSERT, UPDATE, DELETE or MERGE; unqualified, the name is
 * the catalog's view (pg_catalog is on every search_path).
 *
 * @example
 * checkSettingsWrite({ relation: { relname: 'pg_settings' } }); // throws SQL_SETTING_REFUSED
 */
export function checkSettingsWrite(payload: Readonly<Record<string, unknown>>): void {
  const target = payload['relation'];
  if (!isObject(target) || target['relname'] !== 'pg_settings') return;
  const schema = target['schemaname'];
  if (schema === undefined || schema === 'pg_catalog') refuse('settings through pg_settings (its rule calls set_config)');
}

/**
 * Refuses `set_config(name, …)` unless `name` is a string constant naming a
 * setting an action may change: a computed name could be any setting.
 *
 * @example
 * checkSetConfig([{ A_Const: { sval: { sval: 'statement_timeout' } } }]); // throws SQL_SETTING_REFUSED
 */
export function checkSetConfig(args: unknown): void {
  const first = Array.isArray(args) ? (args[0] as unknown) : undefined;
  const constant = isObject(first) ? first['A_Const'] : undefined;
  const sval = isObject(constant) ? constant['sval'] : undefined;
  const name = isObject(sval) && typeof sval['sval'] === 'string' ? sval['sval'] : undefined;
  if (name === undefined || !settable(name)) refuse(name === undefined ? 'set_config() with a computed name' : name);
  checkMemory(name, Array.isArray(args) ? (args[1] as unknown) : undefined);
}

/**
 * Refuses a COPY whose ENCODING is not UTF-8 (`COPY t FROM STDIN (ENCODING 'SJIS')`): the database would read its
 * rows in that encoding, other text than the UTF-8 preview reviewers and policy see, and write a COPY TO's in it.
 * Allowed: no ENCODING, or UTF8 / UTF-8 in any case (`payload` is a CopyStmt).
 *
 * @example
 * checkCopyEncoding({ options: [{ DefElem: { defname: 'encoding', arg: { String: { sval: 'LATIN1' } } } }] }); // throws SQL_SETTING_REFUSED
 */
export function checkCopyEncoding(payload: Readonly<Record<string, unknown>>): void {
  const options = Array.isArray(payload['options']) ? (payload['options'] as unknown[]) : [];
  for (const o of options) {
    const d = isObject(o) && isObject(o['DefElem']) ? o['DefElem'] : undefined;
    if (d === undefined || String(d['defname']).toLowerCase() !== 'encoding') continue;
    const arg = isObject(d['arg']) && isObject(d['arg']['String']) ? d['arg']['String']['sval'] : undefined;
    if (typeof arg !== 'string' || !/^utf-?8$/i.test(arg)) refuse(`a COPY's ENCODING (${String(arg ?? 'computed').slice(0, 40)}): its rows would be read as other text than the UTF-8 the gateway shows`);
  }
}

/**
 * Settings whose value may hold a credential: a standby's `primary_conninfo`
 * (the replication password), the TLS key's passphrase command, and the
 * archive and recovery commands (a storage key in the command line). A
 * superuser upstream role reads them all, so reading one (or any, with
 * `SHOW ALL` or a computed name) is not a read.
 */
const CREDENTIAL_SETTINGS: ReadonlySet<string> = new Set([
  'primary_conninfo',
  'ssl_passphrase_command',
  'archive_command',
  'archive_cleanup_command',
  'restore_command',
  'recovery_end_command',
]);

/**
 * Whether `SHOW name` (`all` for SHOW ALL) may show a credential.
 *
 * @example
 * showsCredential('primary_conninfo'); // true
 * showsCredential('timezone');         // false
 */
export function showsCredential(name: unknown): boolean {
  return typeof name !== 'string' || name.toLowerCase() === 'all' || CREDENTIAL_SETTINGS.has(name.toLowerCase());
}

/**
 * The setting that `current_setting(args…)` may read a credential from: its
 * name, or that the name is computed; undefined when it names another setting.
 *
 * @example
 * credentialSettingRead([{ A_Const: { sval: { sval: 'TimeZone' } } }]);         // undefined
 * credentialSettingRead([{ A_Const: { sval: { sval: 'primary_conninfo' } } }]); // 'primary_conninfo'
 */
export function credentialSettingRead(args: unknown): string | undefined {
  const name = settingNamed(args);
  if (name === undefined) return 'current_setting() of a computed name';
  return showsCredential(name) ? name.toLowerCase() : undefined;
}

/**
 * Whether a setting is a custom one (`app.jwt_secret`, an extension's
 * `pgaudit.log`): a name with a dot, which the server keeps as given. An
 * application may keep a secret there (PostgREST's `app.settings.jwt_secret`),
 * set with ALTER DATABASE or ALTER ROLE, so no run reads one by name; a view or
 * a row-level-security policy of the database's may (`current_setting('app.tenant')`
 * in a policy filters rows and returns no value).
 *
 * @example
 * customSettingRead([{ A_Const: { sval: { sval: 'App.JWT_Secret' } } }]); // 'app.jwt_secret'
 * customSettingRead([{ A_Const: { sval: { sval: 'TimeZone' } } }]);       // undefined
 */
export function customSettingRead(args: unknown): string | undefined {
  const name = settingNamed(args);
  return name !== undefined && isCustomSetting(name) ? name.toLowerCase() : undefined;
}

/** A setting name with a dot: a custom (placeholder) or extension setting. */
export function isCustomSetting(name: string): boolean {
  return name.includes('.');
}

/** Types a string constant may be cast to and keep its text, as the server prints a view's or policy's call (`'app.tenant'::text`). */
const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'varchar', 'name']);

/** The setting a call's first argument names as a string constant, bare or cast to a text type. */
function settingNamed(args: unknown): string | undefined {
  let first = Array.isArray(args) ? (args[0] as unknown) : undefined;
  const cast = isObject(first) ? first['TypeCast'] : undefined;
  if (isObject(cast) && isObject(cast['typeName'])) {
    const names = Array.isArray(cast['typeName']['names']) ? (cast['typeName']['names'] as unknown[]) : [];
    const parts = names.map((n) => (isObject(n) && isObject(n['String']) ? n['String']['sval'] : undefined));
    const [schema, type] = parts.length === 1 ? ['pg_catalog', parts[0]] : parts;
    if (schema === 'pg_catalog' && typeof type === 'string' && TEXT_TYPES.has(type) && cast['typeName']['arrayBounds'] === undefined) first = cast['arg'];
  }
  const constant = isObject(first) ? first['A_Const'] : undefined;
  const sval = isObject(constant) ? constant['sval'] : undefined;
  return isObject(sval) && typeof sval['sval'] === 'string' ? sval['sval'] : undefined;
}

/**
 * The server's functions that list every setting with its value (pg_settings
 * and pg_file_settings call them): a credential setting among them.
 */
export const CREDENTIAL_SETTING_FUNCTIONS: ReadonlySet<string> = new Set(['pg_catalog.pg_show_all_settings', 'pg_catalog.pg_show_all_file_settings']);

/**
 * Functions, by their name in any schema, that read what no check sees by
 * name: SQL text or a relation given as a value (`query_to_xml('SELECT
 * rolpassword FROM pg_authid', …)`, `table_to_xml('pg_authid', …)`, ts_stat,
 * dblink's queries on a server of its own choosing) and the server's files
 * (`pg_read_file('postgresql.auto.conf')`, where ALTER SYSTEM keeps
 * primary_conninfo; lo_import, pg_hba_file_rules with an LDAP bind password),
 * large objects' contents (`lo_get`, `loread`: outside the tables a rule
 * names), and what other sessions of the gateway's one upstream role sent
 * (`pg_stat_get_activity`, `pg_stat_get_backend_activity`,
 * `pg_stat_statements`, and `pg_prepared_statement`, `pg_cursor` of a pooled
 * session). Each may read a credential or another agent's SQL, so no run
 * calls one, whatever rule allowed it.
 */
const UNSEEN_READS =
  /^(?:(?:query|table|schema|database)_to_xml(?:schema|_and_xmlschema)?|cursor_to_xml(?:schema)?|ts_stat|ts_rewrite|dblink(?:_exec|_open|_send_query)?|pg_read_file|pg_read_binary_file|lo_import|lo_get|loread|pg_stat_get_activity|pg_stat_get_backend_activity|pg_stat_statements|pg_prepared_statement|pg_cursor|pg_hba_file_rules)$/;

/**
 * Whether a function of that name (its last part) reads what no check sees by name (UNSEEN_READS).
 *
 * @example
 * readsUnseen(['query_to_xml']);          // true
 * readsUnseen(['public', 'dblink_exec']); // true
 * readsUnseen(['lower']);                 // false
 */
export function readsUnseen(parts: readonly string[]): boolean {
  const bare = parts[parts.length - 1];
  return bare !== undefined && (UNSEEN_READS.test(bare) || EXTENSION_READS.test(bare) || SERVER_FILE_WRITES.test(bare));
}

/**
 * Extensions' functions of the same kind, by name in any schema: every one of dblink's (`dblink_build_sql_insert('pg_authid', …)`
 * returns a row of the relation it names, an INSERT holding a password verifier; `dblink_connect` reaches a server of its
 * own choosing), tablefunc's `crosstab` (SQL text) and `connectby` (a relation named as a value), xml2's `xpath_table` (a
 * relation and a WHERE clause as text) and `xslt_process` (a stylesheet may read files), pageinspect's readers of a
 * relation's pages by its name (`get_raw_page('pg_authid', 0)`), and the WAL's contents: logical decoding of a slot
 * (`pg_logical_slot_peek_changes`: every table's changes) and pg_walinspect's block data; and adminpack 1.0's
 * `pg_file_read` (pg_read_file under another name, in pg_catalog, where a database never updated past 1.0 keeps it).
 */
const EXTENSION_READS =
  /^(?:dblink(?:_[a-z_]+)?|crosstab[0-9]*|connectby|xpath_table|xslt_process|get_raw_page|bt_page_items|pg_logical_slot_(?:get|peek)_(?:binary_)?changes|pg_get_wal_block_info|pg_file_read)$/;

/**
 * Functions that write the server's own files, as `COPY … TO 'file'` does (a statement type of its own,
 * copy_server): `lo_export` of a large object the SQL just made into postgresql.auto.conf sets an
 * archive_command, a shell command the server runs. Inside a SELECT no statement type tells them apart,
 * so no run calls one, whatever rule allowed it (adminpack's writers too).
 */
const SERVER_FILE_WRITES = /^(?:lo_export|pg_file_write|pg_file_rename|pg_file_unlink|pg_file_sync)$/;

function refuse(what: string): never {
  throw new CountersignError(
    'SQL_SETTING_REFUSED',
    `the SQL changes ${what}: the gateway pins how text is parsed, which functions names resolve to, the role and the time bound of a run`,
  );
}

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
