/**
 * What a wire session's state makes of a statement's text, as one digest: a
 * held statement records it, and an approval resumes only in a session that
 * shows the same (surfaces/pg/statement.ts). The same text means something
 * else where this differs:
 *
 * - who runs it: `current_user`, `session_user`;
 * - where names resolve: the schemas of `current_schemas(true)` (the session's
 *   temporary schema left out: it is listed once it exists, whether it holds
 *   anything or not), and `search_path` as set;
 * - what literals and conversions read: every setting a role may change for
 *   its session (pg_settings contexts `user` and `superuser`), but those that
 *   only steer the planner, memory, logging and messages or bound its time,
 *   and the state of the transaction it happens to be in. `DateStyle` makes `'01/02/2026'` 2
 *   January or 1 February; `TimeZone` moves every `timestamptz` literal;
 * - the session's own objects: every relation, type, function and operator of
 *   its temporary schema by object id (a temporary `orders` is found before
 *   the real one, and another session's `orders` is another table), with what
 *   runs when it is used (a view's query, triggers, rules, defaults,
 *   constraints, row-level security, a function's body and settings);
 * - its open cursors (`FETCH c` reads whichever `c` the session holds).
 *
 * Prepared statements are left out: the gateway judges a protocol Execute by
 * the SQL it tracks, and refuses SQL-level EXECUTE.
 *
 * Every function and operator is schema-qualified: objects on the search_path
 * cannot change the answer.
 *
 * What of that state differs from a new session's is read with it, for the
 * request's reviewers (SESSION_SHOWN_SQL): each such setting whose value is
 * not its reset value (what the session started with), another
 * `current_user`, its temporary objects and open cursors.
 */
import { createHash } from 'node:crypto';
import { serialize } from 'pg-protocol';
import { cutText } from '../../../core/bounded-text.ts';
import { shownText, type SessionState } from '../../../core/session-shown.ts';
import { isCustomSetting } from './session-settings.ts';
import type { WireRelay } from './wire-relay.ts';

const EQ = 'OPERATOR(pg_catalog.=)';
const TEMP = 'pg_catalog.pg_my_temp_schema()';

/**
 * Settings that change plans, memory, logs and messages, or bound how long a statement may take or wait (a client may
 * not set those; the connection's statementTimeoutMs or a role's settings may change between a hold and its resume),
 * never what a statement reads or writes.
 */
const NOT_MEANING = [
  'client_min_messages',
  'constraint_exclusion',
  'cpu_index_tuple_cost',
  'cpu_operator_cost',
  'cpu_tuple_cost',
  'cursor_tuple_fraction',
  'default_statistics_target',
  'effective_cache_size',
  'effective_io_concurrency',
  'from_collapse_limit',
  'geqo',
  'geqo_effort',
  'geqo_generations',
  'geqo_pool_size',
  'geqo_seed',
  'geqo_selection_bias',
  'geqo_threshold',
  'hash_mem_multiplier',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'jit',
  'join_collapse_limit',
  'lc_messages',
  'lock_timeout',
  'maintenance_io_concurrency',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'max_parallel_workers',
  'max_parallel_workers_per_gather',
  'min_parallel_index_scan_size',
  'min_parallel_table_scan_size',
  'parallel_leader_participation',
  'parallel_setup_cost',
  'parallel_tuple_cost',
  'plan_cache_mode',
  'random_page_cost',
  'seq_page_cost',
  'statement_timeout',
  'temp_buffers',
  'transaction_deferrable',
  'transaction_isolation',
  'transaction_read_only',
  'transaction_timeout',
  'work_mem',
];

function list(names: readonly string[]): string {
  return `ARRAY[${names.map((n) => `'${n}'`).join(', ')}]::pg_catalog.text[]`;
}

/** The settings that give a statement's text its meaning (a row `s` of pg_settings). */
const MEANING = `s.context ${EQ} ANY (ARRAY['user', 'superuser']::pg_catalog.text[])
           AND NOT (s.name ${EQ} ANY (${list(NOT_MEANING)})) AND s.name OPERATOR(pg_catalog.!~) '^(enable_|log_|debug_|trace_|jit|geqo|vacuum_|wal_|tcp_|track_)'`;

/** A session with no temporary schema yet (most) scans no catalog for its objects: a one-time filter. */
const HAS_TEMP = `${TEMP} OPERATOR(pg_catalog.<>) 0`;

/** Each temporary relation with a digest of what runs when it is used. */
const RELATIONS = `SELECT pg_catalog.concat_ws(':', 'relation', c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
    pg_catalog.md5(pg_catalog.concat_ws('|',
      CASE WHEN c.relkind ${EQ} ANY (ARRAY['v', 'm']::pg_catalog."char"[]) THEN pg_catalog.pg_get_viewdef(c.oid) END,
      (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attgenerated,
                pg_catalog.pg_get_expr(d.adbin, d.adrelid)), ',' ORDER BY a.attnum)
         FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid ${EQ} a.attrelid AND d.adnum ${EQ} a.attnum
        WHERE a.attrelid ${EQ} c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped),
      (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid)), ';' ORDER BY t.tgname)
         FROM pg_catalog.pg_trigger t WHERE t.tgrelid ${EQ} c.oid),
      (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', r.ev_enabled, pg_catalog.pg_get_ruledef(r.oid)), ';' ORDER BY r.rulename)
         FROM pg_catalog.pg_rewrite r WHERE r.ev_class ${EQ} c.oid),
      (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', k.conname, pg_catalog.pg_get_constraintdef(k.oid)), ';' ORDER BY k.conname)
         FROM pg_catalog.pg_constraint k WHERE k.conrelid ${EQ} c.oid),
      (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', p.polname, p.polcmd, p.polpermissive, p.polroles,
                pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)), ';' ORDER BY p.polname)
         FROM pg_catalog.pg_policy p WHERE p.polrelid ${EQ} c.oid))))
  FROM pg_catalog.pg_class c WHERE ${HAS_TEMP} AND c.relnamespace ${EQ} ${TEMP}`;

/** Temporary functions, types (a domain with its constraints) and operators. */
const OTHERS = `SELECT pg_catalog.concat_ws(':', 'function', p.oid, p.proname, p.proargtypes, p.prokind, p.prosecdef, p.provolatile,
    pg_catalog.md5(pg_catalog.concat_ws('|', p.prolang, p.prosrc, p.probin, p.proconfig)))
  FROM pg_catalog.pg_proc p WHERE ${HAS_TEMP} AND p.pronamespace ${EQ} ${TEMP}
  UNION ALL
  SELECT pg_catalog.concat_ws(':', 'type', t.oid, t.typname, t.typtype, t.typbasetype, t.typdefault,
    (SELECT pg_catalog.string_agg(pg_catalog.pg_get_constraintdef(k.oid), ';' ORDER BY k.conname) FROM pg_catalog.pg_constraint k WHERE k.contypid ${EQ} t.oid))
  FROM pg_catalog.pg_type t WHERE ${HAS_TEMP} AND t.typnamespace ${EQ} ${TEMP}
  UNION ALL
  SELECT pg_catalog.concat_ws(':', 'operator', o.oid, o.oprname, o.oprleft, o.oprright, o.oprcode)
  FROM pg_catalog.pg_operator o WHERE ${HAS_TEMP} AND o.oprnamespace ${EQ} ${TEMP}`;

/** The settings of MEANING with their values, as a relation. */
const MEANING_SETTINGS = `(SELECT s.name, s.setting, s.reset_val, s.boot_val FROM pg_catalog.pg_settings s WHERE ${MEANING})`;

/**
 * An extension's settings (a name with a dot) exist only once its library is loaded: PL/pgSQL's by the session's first
 * DO block or PL/pgSQL function (a trigger of the database's, or the gateway's own DO that fails a client's block), and
 * an upstream connection from the pool may have it loaded already. At its built-in default a setting reads as one not
 * yet loaded would once it is, so it is left out: otherwise a statement held before the load would never resume after
 * it, in the same session. Changed from the default (by ALTER ROLE, say: an action may not SET one), it counts.
 */
const NOT_AT_LIBRARY_DEFAULT = `(pg_catalog.strpos(s.name, '.') OPERATOR(pg_catalog.=) 0 OR s.boot_val IS NULL OR s.setting IS NULL
           OR s.setting OPERATOR(pg_catalog.<>) s.boot_val)`;

/** The state as JSON, its settings read from `settings` (MEANING_SETTINGS, or a CTE of it). */
const stateSql = (settings: string) => `SELECT pg_catalog.json_build_array(
  pg_catalog.current_user(), pg_catalog.session_user(),
  pg_catalog.array_remove(pg_catalog.current_schemas(true),
    (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid ${EQ} ${TEMP})),
  ARRAY(SELECT s.name OPERATOR(pg_catalog.||) '=' OPERATOR(pg_catalog.||) s.setting FROM ${settings} s WHERE ${NOT_AT_LIBRARY_DEFAULT} ORDER BY s.name),
  ARRAY(SELECT x FROM (${RELATIONS} UNION ALL ${OTHERS}) o(x) ORDER BY x),
  ARRAY(SELECT pg_catalog.concat_ws(':', u.name, u.is_holdable, u.is_binary, u.is_scrollable, pg_catalog.md5(u.statement))
          FROM pg_catalog.pg_cursors u ORDER BY u.name)
)::pg_catalog.text`;

/** One row, one text column: the state, as JSON. */
export const SESSION_STATE_SQL = stateSql(MEANING_SETTINGS);

/** The settings that most often change what a literal or a name means: shown first. */
const FIRST = ['DateStyle', 'TimeZone', 'IntervalStyle', 'search_path', 'lc_numeric', 'lc_monetary', 'lc_time', 'extra_float_digits', 'bytea_output', 'xmloption'];

/** The gateway's own names (wire-own.ts RESERVED_PREFIX): a client may not use them. */
const STATEMENT = 'countersign_state';
const PORTAL = 'countersign_p';

/** The client's cursors: not the portal the gateway reads this through, nor an unnamed one (no SQL can name it). */
const CURSORS = `u.name OPERATOR(pg_catalog.<>) ALL (ARRAY['${PORTAL}', '']::pg_catalog.text[])`;

/** How many temporary objects and cursors SESSION_SHOWN_SQL names; past that it counts them. */
export const SHOWN_OBJECTS_MAX = 50;

const RELKIND = `CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
  WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type' ELSE 'relation' END`;

/**
 * 0 for a temporary object with the name of one outside the temporary schema, which a statement naming it reads
 * instead (a temporary `orders`): listed first, so no number of decoys pushes it past SHOWN_OBJECTS_MAX; else 1.
 */
const SHADOWS = (catalog: string, name: string, namespace: string, own: string) =>
  `CASE WHEN EXISTS (SELECT FROM pg_catalog.${catalog} x WHERE x.${name} ${EQ} ${own} AND x.${namespace} OPERATOR(pg_catalog.<>) ${TEMP}) THEN 0 ELSE 1 END`;

/**
 * What of the state differs from a new session's, as JSON: `[[name, setting, reset value], …]` of the settings that
 * give a statement its meaning (pg_settings: the current value against the one RESET restores, what the session
 * started with), with `current_user` against `session_user`; the temporary objects a statement may name (relations
 * first, and first of them one that hides a real one of its name: a temporary `orders` is found before the real one;
 * not indexes, row types or array types), then the open
 * cursors, each `[kind, name]`, at most SHOWN_OBJECTS_MAX, and how many there are in all.
 */
const shownSql = (settings: string) => `WITH o(r, k, n) AS MATERIALIZED (
    SELECT ${SHADOWS('pg_class', 'relname', 'relnamespace', 'c.relname')}, 'temporary ' OPERATOR(pg_catalog.||) ${RELKIND}, c.relname::pg_catalog.text FROM pg_catalog.pg_class c
     WHERE ${HAS_TEMP} AND c.relnamespace ${EQ} ${TEMP} AND c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I', 't']::pg_catalog."char"[])
    UNION ALL
    SELECT 2, 'temporary function', p.proname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) pg_catalog.pg_get_function_identity_arguments(p.oid) OPERATOR(pg_catalog.||) ')'
      FROM pg_catalog.pg_proc p WHERE ${HAS_TEMP} AND p.pronamespace ${EQ} ${TEMP}
    UNION ALL
    SELECT ${SHADOWS('pg_type', 'typname', 'typnamespace', 't.typname')} OPERATOR(pg_catalog.+) 1, 'temporary type', t.typname::pg_catalog.text FROM pg_catalog.pg_type t
     WHERE ${HAS_TEMP} AND t.typnamespace ${EQ} ${TEMP} AND t.typrelid ${EQ} 0
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.typarray ${EQ} t.oid)
    UNION ALL
    SELECT 2, 'temporary operator', o.oprname::pg_catalog.text FROM pg_catalog.pg_operator o WHERE ${HAS_TEMP} AND o.oprnamespace ${EQ} ${TEMP}
    UNION ALL
    SELECT 3, 'open cursor', u.name FROM pg_catalog.pg_cursors u WHERE ${CURSORS})
  SELECT pg_catalog.json_build_array(
  ARRAY(SELECT pg_catalog.json_build_array(s.name, s.setting, s.reset_val) FROM ${settings} s
         WHERE s.setting IS DISTINCT FROM s.reset_val ORDER BY s.name OPERATOR(pg_catalog.<>) ALL (${list(FIRST)}), s.name),
  CASE WHEN pg_catalog.current_user() OPERATOR(pg_catalog.<>) pg_catalog.session_user() THEN pg_catalog.json_build_array(pg_catalog.current_user(), pg_catalog.session_user()) END,
  ARRAY(SELECT pg_catalog.json_build_array(o.k, o.n) FROM o ORDER BY o.r, o.n, o.k LIMIT ${SHOWN_OBJECTS_MAX}),
  (SELECT pg_catalog.count(*) FROM o)
)::pg_catalog.text`;

export const SESSION_SHOWN_SQL = shownSql(MEANING_SETTINGS);

/** Both, in one row of two text columns, from one read of pg_settings (the server builds every setting's row for it). */
export const SESSION_READ_SQL = `WITH m AS MATERIALIZED ${MEANING_SETTINGS} SELECT (${stateSql('m')}), (${shownSql('m')})`;

/**
 * The digest of what SESSION_STATE_SQL returned (hex SHA-256).
 *
 * @example
 * stateDigest('["gw","gw",["pg_catalog","public"],…]'); // '3f0c…'
 */
export function stateDigest(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}

/** Longest setting value shown; the digest binds the whole of it. */
const VALUE_MAX = 200;

const value = (v: unknown) => {
  const c = cutText(typeof v === 'string' ? v : String(v), VALUE_MAX);
  return `${shownText(c.text)}${c.cut ? '…' : ''}`;
};

/**
 * What SESSION_SHOWN_SQL returned, as lines for reviewers: `DateStyle = "ISO, DMY" (default "ISO, MDY")`,
 * `temporary table orders`. Each value quoted, and only printable ASCII (core/session-shown.ts shownText).
 *
 * @example
 * shownLines('[[["DateStyle","ISO, DMY","ISO, MDY"]],null,[],0]'); // { settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: [] }
 */
export function shownLines(json: string): Pick<SessionState, 'settings' | 'objects'> {
  const [settings, user, objects, count] = JSON.parse(json) as [unknown[][] | null, unknown[] | null, unknown[][] | null, number];
  const lines = (settings ?? []).map(([name, now, reset]) =>
    // A custom setting (`app.token`) may hold a secret an application function set: no run reads one by name, nor does this.
    typeof name === 'string' && isCustomSetting(name) ? `${shownName(name, true)} changed (a custom setting: its value is not shown)` : `${shownName(name, true)} = ${value(now)} (default ${value(reset)})`,
  );
  if (user) lines.unshift(`current_user = ${value(user[0])} (default ${value(user[1])})`);
  const named = (objects ?? []).map(([kind, name]) => `${String(kind)} ${shownName(name)}`);
  if (count > named.length) named.push(`… and ${count - named.length} more temporary objects or cursors`);
  return { settings: lines, objects: named };
}

/**
 * A name as it is when it is a plain one (`orders`, `f(integer)`; a setting's may have a dot: `plpgsql.extra_errors`),
 * else quoted as a value is: a temporary table named `public.orders` is not the orders table.
 */
function shownName(name: unknown, setting = false): string {
  const text = typeof name === 'string' ? name : String(name);
  const plain = setting ? /^[A-Za-z_][A-Za-z0-9_$.]*$/ : /^[A-Za-z_][A-Za-z0-9_$]*(\([A-Za-z0-9_ ,.[\]]*\))?$/;
  return plain.test(text) && text.length <= VALUE_MAX ? text : value(text);
}

/**
 * Reads the state on the session's upstream connection (inside the client's
 * block, if one is open: the query only reads catalogs and settings): its
 * digest, and what of it differs from a new session's.
 * Undefined in a failed block, where nothing runs, or when the query failed.
 * Through the extended protocol under the gateway's own names: a simple
 * Query would drop the client's unnamed prepared statement, which a later
 * Bind of the client's may use.
 *
 * @example
 * await readSessionState(relay); // { digest: '3f0c…', settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: [] }
 */
export async function readSessionState(relay: WireRelay): Promise<SessionState | undefined> {
  if (relay.status === 'E' || relay.lost || relay.copyIn) return undefined;
  void relay.send(serialize.close({ type: 'S', name: STATEMENT }), 'close', 'gateway');
  const parsed = relay.send(serialize.parse({ name: STATEMENT, text: SESSION_READ_SQL, types: [] }), 'parse', 'gateway');
  void relay.send(serialize.bind({ portal: PORTAL, statement: STATEMENT, values: [] }), 'bind', 'gateway');
  const answer = relay.send(serialize.execute({ portal: PORTAL }), 'execute', 'gateway');
  void relay.send(serialize.close({ type: 'P', name: PORTAL }), 'close', 'gateway');
  await relay.send(serialize.sync(), 'sync', 'gateway');
  const [p, a] = await Promise.all([parsed, answer]);
  const row = a.messages.find((m) => m.type === 'D');
  if (p.error || a.outcome !== 'answered' || a.error || !row) return undefined;
  const [state, shown] = columns(row.body);
  if (state === undefined || shown === undefined) return undefined;
  return { digest: stateDigest(state), ...shownLines(shown) };
}

/** The two text columns of a DataRow's body (undefined for a NULL or a row of another shape). */
function columns(body: Buffer): [string | undefined, string | undefined] {
  if (body.length < 6 || body.readInt16BE(0) !== 2) return [undefined, undefined];
  const first = body.readInt32BE(2);
  if (first < 0 || body.length < 10 + first) return [undefined, undefined];
  const state = body.toString('utf8', 6, 6 + first);
  const second = body.readInt32BE(6 + first);
  if (second < 0 || body.length < 10 + first + second) return [state, undefined];
  return [state, body.toString('utf8', 10 + first, 10 + first + second)];
}
