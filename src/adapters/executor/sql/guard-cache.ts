/**
 * The session check's verdict, cached per wire session (opt-in: a postgres
 * connection's `sessionCheckCache`, README "Session check cache").
 *
 * The check (session-guard.ts) reads the database's catalogs and the session's
 * state. A verdict may be reused only while neither changed, so the operator
 * installs event triggers (`installDdlEpochSql`) that bump a counter row on
 * every DDL command in the database, and a cached verdict is reused only
 * behind a verifier sent in the same flight as the statement, before it: it
 * raises an error, and the server skips the statement, unless the session's
 * state (`stateSql`) is what it was when the check passed. That state is the
 * counter row (its value and its row version, so a row set back by hand does
 * not match) in the table as installed (no rule, trigger, child table or
 * row-level security that could keep the function's update from changing
 * it; the same table row), the three event triggers as installed (enabled ALWAYS, so a
 * session in `session_replication_role = replica` fires them too; the same
 * trigger and function rows, so a trigger dropped and made again, or its
 * function replaced and restored, does not match), and what DDL in the
 * database does not signal: the current and session user, the schemas on the
 * search_path as the server resolves them (a role granted elsewhere can add
 * one), the session's temporary relations and types (DISCARD TEMP and ON
 * COMMIT DROP drop them without an event trigger), and the pinned settings.
 * Anything else: the full check.
 *
 * Every operator and function here is schema-qualified, like the check's own
 * query: objects on the search_path cannot change the verifier's answer.
 */
import { hash } from 'node:crypto';
import { PINNED_SETTINGS } from './session-settings.ts';

/** The event triggers the operator installs, by name, with their event. */
export const EPOCH_TRIGGERS: Readonly<Record<string, string>> = Object.freeze({
  countersign_ddl_epoch_end: 'ddl_command_end',
  countersign_ddl_epoch_drop: 'sql_drop',
  countersign_ddl_epoch_rewrite: 'table_rewrite',
});

/** The default schema of the counter table and the trigger function. */
export const DEFAULT_EPOCH_SCHEMA = 'countersign';

/** Most verdicts one session keeps; past that the cache starts over. */
const MAX_ENTRIES = 500;

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The body of the trigger function, exactly: the verifier compares it. */
export function bumpBody(schema: string): string {
  return `BEGIN UPDATE ${ident(schema)}.ddl_epoch SET epoch = epoch OPERATOR(pg_catalog.+) 1; END`;
}

/**
 * The SQL an operator runs once on the upstream database, as a superuser
 * (only a superuser may create event triggers). `role` is the gateway's
 * database role, granted what the verifier reads.
 *
 * @example
 * installDdlEpochSql('countersign', 'gateway'); // CREATE SCHEMA IF NOT EXISTS "countersign"; …
 */
export function installDdlEpochSql(schema: string = DEFAULT_EPOCH_SCHEMA, role?: string): string {
  const s = ident(schema);
  const triggers = Object.entries(EPOCH_TRIGGERS).flatMap(([name, event]) => [
    `CREATE EVENT TRIGGER ${name} ON ${event} EXECUTE FUNCTION ${s}.bump_ddl_epoch();`,
    `ALTER EVENT TRIGGER ${name} ENABLE ALWAYS;`,
  ]);
  return [
    'BEGIN;',
    `CREATE SCHEMA IF NOT EXISTS ${s};`,
    `CREATE TABLE ${s}.ddl_epoch (epoch bigint NOT NULL);`,
    `INSERT INTO ${s}.ddl_epoch VALUES (0);`,
    `REVOKE ALL ON ${s}.ddl_epoch FROM PUBLIC;`,
    `CREATE FUNCTION ${s}.bump_ddl_epoch() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$${bumpBody(schema)}$$;`,
    `REVOKE ALL ON FUNCTION ${s}.bump_ddl_epoch() FROM PUBLIC;`,
    ...triggers,
    ...(role ? [`GRANT USAGE ON SCHEMA ${s} TO ${ident(role)};`, `GRANT SELECT ON ${s}.ddl_epoch TO ${ident(role)};`] : []),
    'COMMIT;',
  ].join('\n');
}

/**
 * One text: the state a cached verdict depends on, or NULL when the triggers
 * are not all there as installed, the counter is not one row, or the
 * transaction is REPEATABLE READ or SERIALIZABLE (its snapshot may be older
 * than the catalogs the statement's names resolve in).
 */
export function stateSql(schema: string): string {
  const eq = 'OPERATOR(pg_catalog.=)';
  const which = Object.entries(EPOCH_TRIGGERS)
    .map(([name, event]) => `(t.evtname ${eq} ${literal(name)} AND t.evtevent ${eq} ${literal(event)})`)
    .join(' OR ');
  const triggers = `FROM pg_catalog.pg_event_trigger t
      JOIN pg_catalog.pg_proc p ON p.oid ${eq} t.evtfoid
      JOIN pg_catalog.pg_namespace n ON n.oid ${eq} p.pronamespace
     WHERE (${which}) AND t.evtenabled ${eq} 'A' AND t.evttags IS NULL
       AND n.nspname ${eq} ${literal(schema)} AND p.proname ${eq} 'bump_ddl_epoch' AND p.prosecdef
       AND p.prosrc ${eq} ${literal(bumpBody(schema))}
       AND p.proconfig ${eq} ARRAY['search_path=pg_catalog']::pg_catalog.text[]
       AND p.prolang ${eq} (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname ${eq} 'plpgsql')`;
  // The session's temporary relations and types: found before the database's own, and dropped by DISCARD TEMP or at
  // the end of a transaction (ON COMMIT DROP) without firing an event trigger. Nothing to read before the first one.
  const temp = 'pg_catalog.pg_my_temp_schema()';
  const temporary = `CASE WHEN ${temp} ${eq} 0::pg_catalog.oid THEN '' ELSE pg_catalog.concat(
      (SELECT pg_catalog.string_agg(c.oid::pg_catalog.text, ',' ORDER BY c.oid) FROM pg_catalog.pg_class c WHERE c.relnamespace ${eq} ${temp}), '/',
      (SELECT pg_catalog.string_agg(t.oid::pg_catalog.text, ',' ORDER BY t.oid) FROM pg_catalog.pg_type t
        WHERE t.typnamespace ${eq} ${temp} AND t.typrelid ${eq} 0::pg_catalog.oid)) END`;
  // The counter table as installed: a plain heap table with no rule, trigger, child table or row-level security, any
  // of which can make the function's UPDATE change nothing (DO INSTEAD NOTHING, a BEFORE trigger returning NULL, the
  // row moved to a child whose updates are skipped) while the row the verifier reads stays as it was. The agent's own
  // DDL, under a rule allowing creates by type and a role that owns the table, is enough to add one.
  const table = `pg_catalog.to_regclass(${literal(`${ident(schema)}.ddl_epoch`)})`;
  const counter = `FROM pg_catalog.pg_class c WHERE c.oid ${eq} ${table} AND c.relkind ${eq} 'r' AND NOT c.relrowsecurity
       AND c.relam ${eq} (SELECT a.oid FROM pg_catalog.pg_am a WHERE a.amname ${eq} 'heap')
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite w WHERE w.ev_class ${eq} c.oid)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger g WHERE g.tgrelid ${eq} c.oid)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits i WHERE i.inhparent ${eq} c.oid)`;
  const settings = Object.keys(PINNED_SETTINGS)
    .map((s) => `pg_catalog.current_setting(${literal(s)})`)
    .join(', ');
  // Each part is read once, its count beside its text: the plan is what the server sets up again on every statement, and
  // a part written twice (once for the count, once for the text) doubled most of it. A count of one gives the row's
  // text as the string_agg of that one row.
  const parts = `FROM (SELECT pg_catalog.count(*) AS n, pg_catalog.string_agg(pg_catalog.concat_ws(':', t.oid, t.xmin, p.oid, p.xmin), ',' ORDER BY t.oid) AS s ${triggers}) tr,
      (SELECT pg_catalog.count(*) AS n, pg_catalog.string_agg(pg_catalog.concat_ws(':', c.oid, c.xmin), ',') AS s ${counter}) co,
      (SELECT pg_catalog.count(*) AS n, pg_catalog.string_agg(pg_catalog.concat_ws(':', e.epoch, e.xmin), ',') AS s FROM ${ident(schema)}.ddl_epoch e) ep`;
  // Above READ COMMITTED the counter is read through the transaction's snapshot, which DDL since does not change: no state.
  return `SELECT CASE WHEN pg_catalog.current_setting('transaction_isolation') ${eq} 'read committed' THEN (
    SELECT CASE WHEN tr.n ${eq} ${Object.keys(EPOCH_TRIGGERS).length} AND co.n ${eq} 1 AND ep.n ${eq} 1
      THEN pg_catalog.concat_ws(' ', tr.s, co.s, ep.s, pg_catalog.current_user(), pg_catalog.session_user(), pg_catalog.current_schemas(true), ${temporary}, ${settings})
    END ${parts})
  END AS state`;
}

/**
 * The verifier: one row when the state is `$1`, else an error (22P02), and
 * the server skips what follows up to the next Sync.
 */
export function verifySql(schema: string): string {
  return `SELECT CASE WHEN x.state OPERATOR(pg_catalog.=) $1::pg_catalog.text THEN 1
    ELSE pg_catalog.concat('the cached session check is stale: ', COALESCE(x.state, 'no epoch'))::pg_catalog.int4 END
  FROM (${stateSql(schema)}) x`;
}

/**
 * Verdicts by the check's full parameter set (the names the facts resolved,
 * read-only or not, the allow-list), each with the state it was given in.
 *
 * @example
 * const cache = new GuardCache();
 * cache.set(key, state); cache.get(key); // state
 */
export class GuardCache {
  private readonly entries = new Map<string, string>();

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  set(key: string, state: string): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, state);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The cache key of one check: read-only or not and its parameters, as sent (hashed: the allow-list alone is kilobytes). */
export function cacheKey(readOnly: boolean, values: readonly string[]): string {
  // One-shot over the same bytes as a Hash object fed piece by piece: the object cost more than the hashing (a few
  // hundred bytes per statement).
  let text = readOnly ? 'r' : 'w';
  for (const v of values) text += `\u0000${v}`;
  return hash('sha256', text, 'base64');
}
