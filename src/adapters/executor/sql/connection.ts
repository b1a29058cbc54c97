/**
 * A Postgres connection: derives SQL facts with the real parser and runs an
 * approved statement in one transaction on a small pool. The URL (with its
 * host, user and password) stays in this closure: no message, output or
 * thrown error carries it, so a failed connect reads "could not connect to
 * <name>" and nothing more.
 *
 * Every pooled session is opened with the settings the parser assumes
 * (startup options win over ALTER ROLE/DATABASE … SET), and each run first
 * checks them and the names the facts resolved (session-guard.ts), failing
 * closed. A run past its deadline is cancelled on the server (cancel.ts).
 */
import pg from 'pg';
import type { FieldDef, PoolClient, QueryResult } from 'pg';
import type { ActionInput, SqlInput } from '../../../core/action.ts';
import type { TagValue } from '../../../core/connection.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts } from '../../../core/facts.ts';
import type { ConnectionHandle, ExecuteOptions, ExecutionResult } from '../../../core/ports.ts';
import { bounded, StatementTimedOut, stopBackend } from './cancel.ts';
import { analyseSqlAsync, analyseSqlCached, isLongAnalysed } from './analysis-cache.ts';
import { OFFLOAD_MIN_CHARS } from './analysis-offload.ts';
import { maskSqlSecretsPrepared, prepareSecretSpans } from './mask-soon.ts';
import { previewQueue, runPreview } from './preview-run.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { changesCatalogs, restLatch } from './catalog-latch.ts';
import { credentialRefusal, GUARD_SQL, guardParams, refusal, type GuardRow } from './session-guard.ts';
import { PINNED_SETTINGS } from './session-settings.ts';
import { createWireSessions } from './wire-upstream.ts';
import { revertSql, UNDO_CONFLICT_MARKER, type UndoOutcome } from '../../../core/undo.ts';
import { undoScope } from './undo-capture.ts';
import { runCaptured, runRevert } from './undo-run.ts';
import { runsAsRead } from './copy-reads.ts';

export interface PostgresConnectionConfig {
  name: string;
  /** postgres:// URL with credentials; never leaves this module. */
  url: string;
  tags: Record<string, TagValue>;
  /** Per statement; default 30 s. */
  statementTimeoutMs?: number;
  /** Rows returned to the agent, over all statements; default 1000. */
  maxRows?: number;
  /** Columns whose values the audit log keeps only as HMAC (`password`, `users.password`). */
  secretColumns?: readonly string[];
  /** Schema-qualified functions (`public.report_totals`) a read-only statement may call, besides the built-in allow-list. */
  readOnlyFunctions?: readonly string[];
  /** Sessions in the pool; default 4. */
  poolSize?: number;
  /** Impact preview of held writes (preview-run.ts): on unless `false`; its statement and lock timeouts (default 2000 / 1000 ms). */
  preview?: false | { timeoutMs?: number; lockTimeoutMs?: number };
  /** Undo of approved UPDATE/DELETE (undo-capture.ts): on unless `false`; `maxRows` (default 1000) changed rows at most, else the run is refused. */
  undo?: false | { maxRows?: number };
  /** Wire listener: cache the session check's verdict behind the DDL counter in this schema (guard-cache.ts); off unless given. */
  sessionCheckCache?: false | { schema: string };
}

/** One statement's outcome; rows are arrays in `fields` order, so `SELECT a.id, b.id` keeps both. */
export interface SqlStatementResult {
  command: string | null;
  rowCount: number | null;
  fields: string[];
  rows: unknown[][];
  truncated?: true;
}

// Date and time types come back as Postgres wrote them: a JS Date would shift
// a timestamp without time zone into the gateway's zone.
const TEXT_TYPES: ReadonlySet<number> = new Set([1082, 1083, 1114, 1184, 1186, 1266]); // date time timestamp timestamptz interval timetz
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.has(oid) ? (v: string) => v : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Creates the handle for one configured Postgres connection. The pool opens
 * on the first execute. `loadSqlParser()` must have been awaited before `facts` is called.
 *
 * @example
 * const db = createPostgresConnection({ name: 'orders', url: process.env.ORDERS_URL!, tags: { env: 'prod' } });
 * const result = await db.execute({ sql: 'SELECT * FROM orders WHERE id = $1', params: [7] }, { readOnly: true });
 * await db.close();
 */
export function createPostgresConnection(config: PostgresConnectionConfig): ConnectionHandle & { close(): Promise<void> } {
  const timeoutMs = Math.max(1, Math.floor(config.statementTimeoutMs ?? 30_000));
  const maxRows = Math.max(0, Math.floor(config.maxRows ?? 1000));
  const readOnlyFunctions = config.readOnlyFunctions ?? [];
  const allowed: ReadonlySet<string> = new Set([...READ_ONLY_FUNCTIONS, ...readOnlyFunctions]);
  // The gateway's own deadline per call: the server's statement_timeout first, then a margin for it to answer.
  const graceMs = Math.min(5_000, Math.max(1_000, timeoutMs));
  const callMs = timeoutMs + graceMs;
  let pool: pg.Pool | undefined;
  const previewing = config.preview === false ? undefined : (config.preview ?? {});
  const previews = previewQueue(config.name);
  const maxUndoRows = config.undo === false ? undefined : Math.max(0, Math.floor(config.undo?.maxRows ?? 1000));
  // The wire listener's client sessions: connections of their own, opened on the first client.
  const epochSchema = config.sessionCheckCache ? config.sessionCheckCache.schema : undefined;
  const wire = createWireSessions({ name: config.name, url: config.url, readOnlyFunctions, statementTimeoutMs: timeoutMs, epochSchema });

  function getPool(): pg.Pool {
    if (!pool) {
      const { url, options } = pinnedUrl(config.url, { ...PINNED_SETTINGS, statement_timeout: String(timeoutMs) });
      pool = new pg.Pool({
        connectionString: url,
        max: Math.max(1, config.poolSize ?? 4),
        application_name: 'countersign',
        connectionTimeoutMillis: 10_000,
        // Startup options outrank ALTER ROLE/DATABASE … SET, and RESET/DISCARD ALL return to them.
        options,
        types,
      });
      // An idle client dropped by the server must not crash the gateway; the next checkout reconnects.
      pool.on('error', () => {});
    }
    return pool;
  }

  async function execute(input: SqlInput, opts: ExecuteOptions): Promise<ExecutionResult> {
    // COPY data is held by the wire session that read it; a request carrying it runs only there.
    if (input.copy !== undefined) {
      const message = 'a COPY FROM STDIN with its data runs only in the postgres session that sent it; nothing ran';
      return { ok: false, output: { message }, summary: {}, error: { code: 'INVALID_INPUT', message } };
    }
    // The names to check; the facts the policy judged were derived from this same text.
    let names, facts;
    try {
      ({ names, facts } = input.sql.length > OFFLOAD_MIN_CHARS ? await analyseSqlAsync(input.sql, { readOnlyFunctions }) : analyseSqlCached(input.sql, { readOnlyFunctions }));
    } catch (e) {
      if (!(e instanceof CountersignError)) throw e;
      return { ok: false, output: { message: e.message }, summary: {}, error: { code: e.code, message: e.message } };
    }
    // A COPY to the client that only reads runs as the read it is, checked as one (copy-reads.ts).
    const readOnly = opts.readOnly || runsAsRead(input.sql, facts, names, allowed);
    const credential = credentialRefusal(names);
    if (credential) return { ok: false, output: { message: credential.message }, summary: {}, error: { code: 'SQL_SESSION_UNSAFE', message: credential.message } };
    let client: PoolClient;
    try {
      client = await getPool().connect();
    } catch (e) {
      return failed(`could not connect to ${config.name}`, safeCode(e));
    }
    let destroy = false;
    // A checked-out client has no listener of the pool's: a backend terminated under it must not crash the gateway.
    const onError = (): void => {
      destroy = true;
    };
    client.on('error', onError);
    // The backend's id from its BackendKeyData; the check below reads it from the server too.
    let pid = (client as unknown as { processID?: number }).processID ?? 0;
    // Every call is bounded; past the deadline the backend is stopped on the server, not abandoned.
    const call = <T>(run: Promise<T>): Promise<T> => bounded(run, callMs, () => stopBackend(config.url, pid, run, graceMs));
    // No undo where the connection keeps none, or every rule that let it run says `undo: false` (then no row limit either).
    const noUndo = !readOnly && opts.noUndo?.length ? opts.noUndo : undefined;
    const capturing = readOnly || noUndo ? undefined : maxUndoRows;
    // A revert the gateway generated runs as one only when the statement is exactly it: its own undo is read from what it wrote.
    const reverting = !readOnly && opts.reverting && !input.params?.length && input.sql === revertSql(opts.reverting) ? opts.reverting : undefined;
    // A write's undo is captured in a REPEATABLE READ transaction (undo-capture.ts says why).
    const scope = capturing === undefined || reverting ? undefined : undoScope(input.sql);
    let undo: UndoOutcome | undefined = noUndo
      ? { status: 'none', reason: `the policy lets it run without an undo (${noUndo.length === 1 ? 'rule' : 'rules'} ${noUndo.join(', ')})` }
      : scope && !scope.ok
        ? { status: 'none', reason: scope.reason }
        : undefined;
    try {
      // Read-only as the session default too, so an agent's own COMMIT cannot
      // leave the read-only transaction; DISCARD ALL below restores it. A read is READ COMMITTED whatever the
      // database's default: above it, the check would read the catalogs as of the latch's snapshot, taken before its wait.
      const begin = readOnly ? 'SET default_transaction_read_only = on; BEGIN READ ONLY ISOLATION LEVEL READ COMMITTED' : scope?.ok ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN';
      // No schema change through the gateway commits between the check and the statement (catalog-latch.ts).
      const latch = restLatch(!readOnly && changesCatalogs(facts) ? 'exclusive' : 'shared', !readOnly && scope?.ok === true);
      if (latch.before) await call(client.query(latch.sql));
      // The session check's estimated cost can pass jit_above_cost: compiling it would take about a second (wire-own.ts).
      // Off for the check only (set back to the database's default below).
      await call(client.query(`${begin}; SET LOCAL statement_timeout = ${timeoutMs}; SET LOCAL jit = off${latch.before ? '' : `; ${latch.sql}`}`));
      const guard = await call(client.query<GuardRow>(GUARD_SQL, guardParams(names, readOnly, allowed)));
      pid = guard.rows[0]?.pid ?? pid;
      const refused = refusal(guard.rows[0], { readOnlyFunctions }, readOnly);
      if (refused) {
        destroy = refused.settings;
        await call(client.query('ROLLBACK'));
        return { ok: false, output: { message: refused.message }, summary: {}, error: { code: 'SQL_SESSION_UNSAFE', message: refused.message } };
      }
      // The agent's statement plans as the database would have it: JIT was off for the check only.
      await call(client.query('SET LOCAL jit TO DEFAULT'));
      const params = input.params ?? [];
      if (reverting) {
        const run = await runRevert(client, call, reverting, capturing ?? Number.POSITIVE_INFINITY);
        if (run.kind !== 'ran') {
          await call(client.query('ROLLBACK'));
          if (run.kind === 'unproven') return failed(`the undo of the revert could not be confirmed (${run.reason}); nothing was changed`, undefined);
          const message = `the revert would change ${run.rows} rows, more than the ${capturing} whose undo ${config.name} keeps; nothing was changed`;
          return { ok: false, output: { message }, summary: { rowCount: run.rows }, error: { code: 'UNDO_TOO_MANY_ROWS', message } };
        }
        await call(client.query('COMMIT'));
        const result: SqlStatementResult = { command: 'SELECT', rowCount: 1, fields: ['restored_rows'], rows: [[run.restored]] };
        const kept = capturing === undefined ? undo : run.undo;
        return { ok: true, output: { results: [result] }, summary: { statements: 1, rowCount: run.restored }, ...(kept ? { undo: kept } : {}) };
      }
      if (scope?.ok && capturing !== undefined) {
        const captured = await runCaptured(client, call, scope.target, params, capturing);
        if (captured.kind === 'too-many') {
          await call(client.query('ROLLBACK'));
          const message = `the statement would change ${captured.rows} rows, more than the ${capturing} whose undo ${config.name} keeps; nothing was changed`;
          return { ok: false, output: { message }, summary: { rowCount: captured.rows }, error: { code: 'UNDO_TOO_MANY_ROWS', message } };
        }
        if (captured.kind === 'unproven') {
          await call(client.query('ROLLBACK'));
          const message = `the undo of the statement could not be captured (${captured.reason}); nothing was changed`;
          return failed(message, undefined);
        }
        if (captured.kind === 'ran') {
          await call(client.query('COMMIT'));
          const result: SqlStatementResult = { command: captured.command, rowCount: captured.rowCount, fields: [], rows: [] };
          return { ok: true, output: { results: [result] }, summary: { statements: 1, rowCount: captured.rowCount }, undo: captured.undo };
        }
        undo = { status: 'none', reason: captured.reason };
      }
      // Extended protocol with params (Postgres refuses several statements there); simple protocol without.
      const raw = (await call(
        client.query(params.length > 0 ? { text: input.sql, values: params, rowMode: 'array' } : { text: input.sql, rowMode: 'array' }),
      )) as QueryResult<unknown[]> | QueryResult<unknown[]>[];
      await call(client.query('COMMIT'));
      const ran = succeeded(Array.isArray(raw) ? raw : [raw], maxRows);
      return undo ? { ...ran, undo } : ran;
    } catch (e) {
      if (e instanceof StatementTimedOut) {
        destroy = true;
        return failed(`the statement passed the ${timeoutMs} ms statement timeout of ${config.name} and was cancelled`, 'timeout');
      }
      await call(client.query('ROLLBACK')).catch(() => {
        destroy = true;
      });
      if (e instanceof pg.DatabaseError) {
        const sqlstate = e.code ?? 'XX000';
        const conflict = e.message.indexOf(UNDO_CONFLICT_MARKER);
        if (conflict >= 0) {
          const keys = e.message.slice(conflict + UNDO_CONFLICT_MARKER.length).replace(/"$/, '');
          const message = `nothing was reverted: these rows changed since (primary keys): ${keys}`;
          return { ok: false, output: { message }, summary: { sqlstate }, error: { code: 'UNDO_CONFLICT', message } };
        }
        return {
          ok: false,
          output: { sqlstate, message: e.message },
          summary: { sqlstate },
          error: { code: 'EXECUTION_FAILED', message: `postgres ${sqlstate}: ${e.message}` },
        };
      }
      destroy = true;
      return failed(`lost the connection to ${config.name} while running the statement`, safeCode(e));
    } finally {
      // Session state an agent set (SET ROLE, search_path, …) must not leak to the next action. A
      // write may have called anything, and DISCARD ALL does not reset all it can leave (a dblink
      // connection, the random seed, PL globals, a LOADed library): its session is closed instead.
      if (!readOnly) destroy = true;
      if (!destroy) {
        await call(client.query('DISCARD ALL')).catch(() => {
          destroy = true;
        });
      }
      client.removeListener('error', onError);
      client.release(destroy);
    }
  }

  return {
    info: { kind: 'postgres', name: config.name, tags: config.tags },
    maskForAudit(input, mask) {
      const sql = input as SqlInput;
      if (!config.secretColumns?.length) return input;
      const m = maskSqlSecretsPrepared(sql.sql, sql.params, config.secretColumns, mask);
      // A COPY's rows are not split into columns here: with secret columns named, none of its preview is logged.
      const copy = sql.copy ? { copy: { ...sql.copy, preview: mask(sql.copy.preview) } } : {};
      return m.masked || sql.copy ? { ...sql, sql: m.sql, ...(m.params ? { params: m.params } : {}), ...copy } : input;
    },
    // Connect, then at most six bounded calls (the latch, BEGIN, the check, the SQL, COMMIT/ROLLBACK, DISCARD ALL), each maybe with a cancel.
    maxRunMs: 10_000 + 6 * (timeoutMs + 5_000) + 2 * 15_000,
    facts(input) {
      const sql = 'sql' in input ? input.sql : undefined;
      if (typeof sql !== 'string') throw new CountersignError('INVALID_INPUT', 'a postgres action needs { sql }');
      const { facts } = analyseSqlCached(sql, { readOnlyFunctions });
      return makeFacts('postgres', { writes: facts.writes, sql: facts });
    },
    prepareFacts(input, owner) {
      const sql = 'sql' in input ? input.sql : undefined;
      if (typeof sql !== 'string' || sql.length <= OFFLOAD_MIN_CHARS) return undefined;
      const columns = config.secretColumns ?? [];
      if (isLongAnalysed(sql, { readOnlyFunctions }) && columns.length === 0) return undefined;
      // The facts, then (with secret columns) where the audit copy masks: both parses on the analysis thread.
      return analyseSqlAsync(sql, { readOnlyFunctions }, owner).then(() => prepareSecretSpans(sql, columns, owner));
    },
    execute: (input, opts) => execute(input as SqlInput, opts),
    openWireSession: (toClient, owner) => wire.open(toClient, owner),
    ...(previewing === undefined
      ? {}
      : {
          preview: (input: ActionInput) =>
            previews.run(() => runPreview(
              {
                name: config.name,
                url: config.url,
                timeoutMs: Math.max(1, Math.floor(previewing.timeoutMs ?? 2_000)),
                lockTimeoutMs: Math.max(1, Math.floor(previewing.lockTimeoutMs ?? 1_000)),
                readOnlyFunctions,
                allowed,
                pool: getPool,
              },
              input as SqlInput,
            )),
        }),
    async close() {
      const p = pool;
      pool = undefined;
      await Promise.all([p?.end(), wire.close()]);
    },
  };
}

/**
 * The URL without its own `options` and `client_encoding` (pg lets the URL's
 * override the config's), and startup options with the pinned settings last,
 * so they win over the URL's: the check before each run would refuse the
 * session otherwise.
 */
function pinnedUrl(raw: string, pinned: Readonly<Record<string, string>>): { url: string; options: string } {
  const pins = Object.entries(pinned).map(([name, value]) => `-c ${name}=${value}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw, options: pins.join(' ') };
  }
  const own = url.searchParams.get('options');
  url.searchParams.delete('options');
  url.searchParams.delete('client_encoding');
  return { url: url.toString(), options: [own, ...pins].filter(Boolean).join(' ') };
}

/** Packs pg's results, capping rows at `maxRows` over all statements. */
function succeeded(results: readonly QueryResult<unknown[]>[], maxRows: number): ExecutionResult {
  let left = maxRows;
  let total = 0;
  const out = results.map((r): SqlStatementResult => {
    const rows = r.rows ?? [];
    const kept = rows.slice(0, left);
    left -= kept.length;
    total += r.rowCount ?? 0;
    const result: SqlStatementResult = {
      command: r.command ?? null,
      rowCount: r.rowCount ?? null,
      fields: (r.fields ?? []).map((f: FieldDef) => f.name),
      rows: kept.map((row) => row.map(toJson)),
    };
    if (kept.length < rows.length) result.truncated = true;
    return result;
  });
  return { ok: true, output: { results: out }, summary: { statements: out.length, rowCount: total } };
}

function failed(message: string, reason: string | undefined): ExecutionResult {
  const detail = reason ? { reason } : {};
  return { ok: false, output: { message, ...detail }, summary: { ...detail }, error: { code: 'EXECUTION_FAILED', message } };
}

/**
 * The error's code when it is a bare token (SQLSTATE 28P01, ECONNREFUSED):
 * useful to an operator, and unlike a message it cannot carry a host or user.
 */
function safeCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

/** A value JSON can carry without loss or a throw: bigint, bytea and odd numbers become strings. */
function toJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`; // Postgres' own bytea hex form
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return String(v);
}
