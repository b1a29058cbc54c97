/**
 * The connection pool and what its failures mean. Every error that leaves
 * this folder is either ours (a CountersignError) or a database refusal of a
 * statement; a lost or unreachable server becomes STORE_UNAVAILABLE and a
 * pool that stayed full becomes STORE_BUSY, so callers fail closed with a
 * code they understand instead of hanging or crashing. No text that leaves
 * here holds the URL or its password.
 */
import pg from 'pg';
import { CountersignError } from '../../../core/errors.ts';

export type Values = readonly unknown[];
/** A statement: plain text, or named so that each connection prepares it once. */
export type Statement = string | { readonly name: string; readonly text: string };
export type Run = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: Statement, values?: Values) => Promise<pg.QueryResult<R>>;

export interface DbOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly ssl?: pg.PoolConfig['ssl'];
}

export interface Conn {
  run: Run;
  done(discard?: boolean): void;
}

export interface Db {
  /** One read on any connection of the pool; retried on a fresh connection if the one it got was dead. */
  query: Run;
  /** One write statement (its own transaction), never repeated: if its connection dies, its outcome is unknown. */
  once: Run;
  /**
   * A connection of its own, for a transaction; `done(discard)` hands it back, or closes it when it may be broken or
   * mid-transaction. `unbounded`: its statements may wait as long as they need (a migration, the wait for its lock).
   */
  connect(unbounded?: boolean): Promise<Conn>;
  /**
   * Turns any failure into the error the store throws (see the module header). `connected`: the connection is known
   * to have survived it, so no text in it means the connection was lost.
   */
  fail(error: unknown, connected?: boolean): unknown;
  /** True when the error says the connection (not the statement) failed: nothing more can be said about what it did. */
  lost(error: unknown): boolean;
  /**
   * True when the connection was lost and another one is worth a try: not when the server went silent (the statement
   * outlived its read timeout), as every other connection to it would wait as long.
   */
  retryable(error: unknown): boolean;
  /** The text with the URL and its password taken out. */
  redact(text: string): string;
  end(): Promise<void>;
}

/** SQLSTATEs and socket codes that mean the server went away or refused the connection (admin shutdown, crash, starting up, class 08). */
const LOST_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
const LOST_TEXT = /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|Client was closed|terminating connection|Query read timeout/i;
/** What pg says when a statement outlived query_timeout: the server went silent. */
const READ_TIMEOUT = 'Query read timeout';
const BUSY_CODES = new Set(['57014', '55P03', '40P01', '40001']);
/** What pg-pool says when no connection came free in time. */
const POOL_TIMEOUT = 'timeout exceeded when trying to connect';

export function createDb(options: DbOptions): Db {
  const secrets = secretsOf(options.url);
  const redact = (text: string): string => secrets.reduce((t, s) => t.split(s).join('***'), text);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // A server that went silent (a partition, a vanished host: no RST ever comes) would leave a statement, and the
    // writer behind it, waiting for good. Past the time the server may take plus the time allowed to reach it, the
    // statement's outcome is unknown: the connection is dropped and the caller told STORE_UNAVAILABLE.
    query_timeout: options.statementTimeoutMs + options.connectTimeoutMs,
    // Without it, a replica that froze inside a write would hold the audit head, and so every replica's writes, for good.
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    ssl: options.ssl,
    // A statement is sent at once, not after the answer to the one before on its connection: a write transaction sends
    // BEGIN with its first statement and COMMIT with its append (group-commit.ts), two round trips fewer per batch,
    // which two replicas appending in turn pay on every batch. Callers that await each statement see no difference.
    pipeline: true,
    // Counts and seqs are bigint columns: read them as numbers (pg's default is a string), on our connections only.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // A connection killed while idle (a database restart) is dropped by the pool, which then emits this;
  // unheard, it would crash the process. The next call opens a new connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    // A checked-out client emits 'error' too when its socket dies between statements; the statement that follows fails instead.
    client.on('error', () => {});
    // What the store's correctness rests on, whatever the database's defaults. A COMMIT is acted on once it returns (an
    // action runs, a delivery is forgotten), so it must be on disk by then: synchronous_commit = off would lose it in a
    // crash (stricter settings are kept). Writers queue on the audit head and then read what the one before committed,
    // which needs read committed: under repeatable read or serializable they would fail instead of waiting their turn.
    // Queued before the first statement of whoever asked for this connection (a client runs its statements in order);
    // it can fail only with the connection, and then so does that statement.
    client
      .query(
        `SELECT set_config('default_transaction_isolation', 'read committed', false),
                CASE WHEN current_setting('synchronous_commit') = 'off' THEN set_config('synchronous_commit', 'on', false) END`,
      )
      .catch(() => {});
  });

  const codeOf = (e: unknown): string => (typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '');
  const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  const lost = (e: unknown): boolean => {
    if (e instanceof CountersignError) return e.code === 'STORE_UNAVAILABLE';
    const code = codeOf(e);
    return LOST_CODES.has(code) || code.startsWith('08') || LOST_TEXT.test(messageOf(e));
  };
  const retryable = (e: unknown): boolean => lost(e) && messageOf(e) !== READ_TIMEOUT;
  const busy = (e: unknown): boolean => !(e instanceof CountersignError) && messageOf(e) === POOL_TIMEOUT && pool.totalCount >= options.poolSize;

  const unavailable = (e: unknown): CountersignError =>
    new CountersignError('STORE_UNAVAILABLE', 'the database cannot be reached or failed mid-transaction', { cause: redact(messageOf(e)) });

  function fail(e: unknown, connected = false): unknown {
    if (e instanceof CountersignError) return e;
    if (busy(e)) {
      return new CountersignError('STORE_BUSY', `every connection to the database stayed busy for ${options.connectTimeoutMs} ms`, { poolSize: options.poolSize });
    }
    if (!connected && (lost(e) || messageOf(e) === POOL_TIMEOUT)) return unavailable(e);
    // statement_timeout, or a lock wait given up: the database is there but too busy to answer in time.
    if (BUSY_CODES.has(codeOf(e))) {
      return new CountersignError('STORE_BUSY', 'the database did not finish a statement in time', { cause: redact(messageOf(e)) });
    }
    if (e instanceof Error) {
      // A refusal of a statement (a constraint, a timeout): kept as it is, but never with a secret in it.
      e.message = redact(e.message);
      // pg-pool hangs the client (whose parameters hold the password) on errors it emits: never pass that on.
      if ('client' in e) delete (e as { client?: unknown }).client;
      return e;
    }
    return new Error(redact(String(e)));
  }

  async function connect(unbounded = false): Promise<Conn> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      // Any failure to get a connection (refused, bad credentials, no such database, a malformed URL) leaves nothing
      // done: say so, with the driver's text cleaned of the URL (its errors may carry the URL in other fields too).
      throw busy(e) ? fail(e) : unavailable(e);
    }
    let released = false;
    // The longest timer Node keeps (about 24 days); pg reads 0 as "the pool's query_timeout".
    const limit = unbounded ? { query_timeout: 2 ** 31 - 1 } : {};
    return {
      run: (sql, values) => client.query(typeof sql === 'string' ? { text: sql, values: values as unknown[], ...limit } : { ...sql, values: values as unknown[], ...limit }),
      done(discard = false) {
        if (released) return;
        released = true;
        // A broken connection, or one whose state is in doubt, is closed, not handed to the next caller.
        client.release(discard ? new Error('connection discarded') : undefined);
      },
    };
  }

  let ended = false;
  const attempts = (max: number): Run => async (sql, values) => {
    // A read is safe to repeat: a connection the server killed while it sat idle is replaced, up to once per pool slot.
    for (let attempt = 0; ; attempt++) {
      let c: Conn | undefined;
      try {
        c = await connect();
        const result = await c.run(sql, values);
        c.done();
        return result as never;
      } catch (e) {
        c?.done(lost(e));
        if (retryable(e) && c && attempt < max) continue;
        throw fail(e);
      }
    }
  };

  return {
    query: attempts(options.poolSize),
    once: attempts(0),
    connect,
    fail,
    lost,
    retryable,
    redact,
    async end() {
      // Closing twice is closing once (pg-pool throws on a second end()).
      if (!ended) {
        ended = true;
        await pool.end();
      }
    },
  };
}

/**
 * True when a value (or an array of them) is text holding NUL. PostgreSQL text cannot hold one, so nothing stored
 * equals such a text: a lookup by it finds nothing, as in SQLite, instead of failing the statement (an agent's
 * `GET /v1/requests/%00` would otherwise be a 500, and a change of the request it names a raw error, not NOT_FOUND).
 */
export function holdsNul(values: readonly unknown[]): boolean {
  return values.some((v) => (typeof v === 'string' ? v.includes('\u0000') : Array.isArray(v) && holdsNul(v)));
}

/** The URL and its password in every form they could appear (as given, decoded). */
function secretsOf(url: string): string[] {
  const out = new Set<string>([url]);
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      out.add(parsed.password);
      out.add(decodeURIComponent(parsed.password));
    }
  } catch {
    // Not a URL: pg will refuse it; the text itself is still taken out.
  }
  return [...out].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * SQL for a text[] of JSON texts (records, event bodies) sent as one JSON array parameter built by `jsonArray`: each
 * element comes back as it was written, byte for byte (the `json` type keeps its input text), in the array's order.
 * Nothing is escaped a second time, as pg's array literal (two regular-expression passes per element) or a JSON
 * array of strings would; the server checks the whole parameter is JSON, so a write whose text is not fails.
 *
 * @example
 * run(`INSERT INTO t (body) SELECT * FROM unnest(${jsonElements('$1')})`, [jsonArray(bodies)]);
 */
export function jsonElements(param: string): string {
  return `(SELECT coalesce(array_agg(e::text ORDER BY n), '{}') FROM json_array_elements(${param}::json) WITH ORDINALITY AS j(e, n))`;
}

/** One JSON array of values that are each a whole JSON text already (JSON.stringify's output): joined, not escaped. */
export function jsonArray(texts: readonly string[]): string {
  return `[${texts.join(',')}]`;
}

/**
 * Parameters for a statement built from optional filters: `p(value)` adds one and gives its placeholder.
 *
 * @example
 * const { params, p } = statementParams();
 * where.push(`r.connection = ${p(query.connection)}`); // 'r.connection = $1', params [query.connection]
 */
export function statementParams(): { params: unknown[]; p(value: unknown): string } {
  const params: unknown[] = [];
  return {
    params,
    p(value) {
      params.push(value);
      return `$${params.length}`;
    },
  };
}
