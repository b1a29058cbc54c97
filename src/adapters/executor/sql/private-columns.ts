/**
 * Columns of the server's views that show what is not the reader's: the
 * gateway runs every agent's SQL as one upstream role, so the SQL text of
 * every session of that role (pg_stat_activity.query, pg_stat_statements.query,
 * and under a superuser anyone's `ALTER ROLE … PASSWORD '…'`), the statements
 * prepared and cursors opened on a pooled upstream session
 * (pg_prepared_statements, pg_cursors), and the settings kept per role
 * (pg_roles.rolconfig, pg_user.useconfig: `ALTER ROLE … SET
 * app.jwt_secret`, where PostgREST keeps its JWT secret) are another agent's
 * or a credential. A statement naming one of these views may read its other
 * columns (pid, state, rolname: psql's \du, monitoring); it is refused when it
 * reads a private column by name, reads every column (`*`, the whole row
 * `r` or `row_to_json(r)`, a column it cannot tell from a function or cast
 * `r.text`), renames the view's columns (`AS a(x, y, …)`) or joins on
 * columns it does not name (NATURAL). Judged on the parse tree alone, so
 * with one of those views in a statement any such shape anywhere in it counts:
 * fail closed.
 */

import { isObject, type Json, type JsonObject } from './parse-tree.ts';

/** Each view's private columns, and the columns it shows that are not (Postgres 15, and those later servers add). */
const VIEWS: Readonly<Record<string, { readonly private: readonly string[]; readonly shown: readonly string[] }>> = {
  pg_stat_activity: {
    private: ['query'],
    shown: `datid datname pid leader_pid usesysid usename application_name client_addr client_hostname client_port backend_start
      xact_start query_start state_change wait_event_type wait_event state backend_xid backend_xmin query_id backend_type`.split(/\s+/),
  },
  pg_stat_statements: {
    private: ['query'],
    shown: `userid dbid toplevel queryid plans total_plan_time min_plan_time max_plan_time mean_plan_time stddev_plan_time calls
      total_exec_time min_exec_time max_exec_time mean_exec_time stddev_exec_time rows shared_blks_hit shared_blks_read
      shared_blks_dirtied shared_blks_written local_blks_hit local_blks_read local_blks_dirtied local_blks_written temp_blks_read
      temp_blks_written blk_read_time blk_write_time temp_blk_read_time temp_blk_write_time wal_records wal_fpi wal_bytes
      jit_functions jit_generation_time jit_inlining_count jit_inlining_time jit_optimization_count jit_optimization_time
      jit_emission_count jit_emission_time`.split(/\s+/),
  },
  pg_prepared_statements: { private: ['statement'], shown: ['name', 'prepare_time', 'parameter_types', 'from_sql', 'generic_plans', 'custom_plans', 'result_types'] },
  pg_cursors: { private: ['statement'], shown: ['name', 'is_holdable', 'is_binary', 'is_scrollable', 'creation_time'] },
  pg_roles: {
    private: ['rolconfig'],
    shown: `rolname rolsuper rolinherit rolcreaterole rolcreatedb rolcanlogin rolreplication rolconnlimit rolpassword rolvaliduntil
      rolbypassrls oid`.split(/\s+/),
  },
  pg_user: { private: ['useconfig'], shown: ['usename', 'usesysid', 'usecreatedb', 'usesuper', 'userepl', 'usebypassrls', 'passwd', 'valuntil'] },
};

/** One of those views as a statement names it: the view and the name its columns are qualified by. */
interface Named {
  readonly view: string;
  readonly alias: string;
}

/**
 * What a statement reads of those views' private columns, as `view.column`,
 * `view.*` or `view alias` (the whole row, or columns renamed); `[]` when none.
 *
 * @example
 * privateColumnReads('SelectStmt', parsed('SELECT query FROM pg_stat_activity'));  // ['pg_stat_activity.query']
 * privateColumnReads('SelectStmt', parsed('SELECT pid, state FROM pg_stat_activity')); // []
 */
export function privateColumnReads(node: string, payload: JsonObject): string[] {
  const named: Named[] = [];
  const out = new Set<string>();
  each({ [node]: payload }, (key, obj) => {
    const { relname, relpersistence, alias } = obj;
    if (typeof relname !== 'string' || typeof relpersistence !== 'string' || VIEWS[relname] === undefined) return;
    const as = isObject(alias) && typeof alias['aliasname'] === 'string' ? alias['aliasname'] : relname;
    named.push({ view: relname, alias: as });
    if (isObject(alias) && Array.isArray(alias['colnames']) && alias['colnames'].length > 0) out.add(`${relname} ${as}`);
    // COPY of the view by name (which the server refuses for a view) reads every column.
    if (key === 'relation' && node === 'CopyStmt' && obj === payload['relation']) out.add(`${relname}.*`);
  });
  if (named.length === 0) return [];
  const privates = new Map(named.flatMap((n) => VIEWS[n.view]!.private.map((c) => [c, n.view] as const)));
  each({ [node]: payload }, (key, obj) => {
    if (key === 'ColumnRef') columnRef(obj, named, privates, out);
    else if (key === 'A_Indirection') {
      for (const part of list(obj['indirection'])) {
        const name = str(part);
        if (isObject(part) && 'A_Star' in part) for (const n of named) out.add(`${n.view}.*`);
        else if (name !== undefined && privates.has(name)) out.add(`${privates.get(name)!}.${name}`);
      }
    } else if (key === 'JoinExpr') {
      if (obj['isNatural'] === true) for (const n of named) out.add(`${n.view} ${n.alias} (NATURAL JOIN)`);
      for (const part of list(obj['usingClause'])) {
        const name = str(part);
        if (name !== undefined && privates.has(name)) out.add(`${privates.get(name)!}.${name}`);
      }
    }
  });
  return [...out].sort();
}

function columnRef(ref: JsonObject, named: readonly Named[], privates: ReadonlyMap<string, string>, out: Set<string>): void {
  const fields = list(ref['fields']);
  const last = fields[fields.length - 1];
  const star = isObject(last) && 'A_Star' in last;
  const name = str(last);
  if (fields.length === 1) {
    if (star) for (const n of named) out.add(`${n.view}.*`);
    else for (const n of named.filter((v) => v.alias === name)) out.add(`${n.view} ${n.alias}`);
  }
  if (name !== undefined && privates.has(name)) out.add(`${privates.get(name)!}.${name}`);
  if (fields.length < 2) return;
  // `r.*`, `r.text` (a cast of the whole row), `r.row_to_json` (a call on it): only the view's shown columns pass.
  const qualifier = str(fields[fields.length - 2]);
  for (const n of named.filter((v) => v.alias === qualifier)) {
    if (star) out.add(`${n.view}.*`);
    else if (name === undefined || !VIEWS[n.view]!.shown.includes(name)) out.add(`${n.view}.${name ?? '?'}`);
  }
}

/** Calls `visit(key, object)` for every object in the tree, with the key it sits under. */
function each(value: Json, visit: (key: string, obj: JsonObject) => void, key = ''): void {
  if (Array.isArray(value)) {
    for (const item of value as readonly Json[]) each(item, visit, key);
  } else if (isObject(value)) {
    visit(key, value);
    for (const k in value) each(value[k]!, visit, k);
  }
}

function list(v: Json | undefined): readonly Json[] {
  return Array.isArray(v) ? (v as readonly Json[]) : [];
}

function str(v: Json | undefined): string | undefined {
  const s = isObject(v) ? v['String'] : undefined;
  return isObject(s) && typeof s['sval'] === 'string' ? s['sval'] : undefined;
}
