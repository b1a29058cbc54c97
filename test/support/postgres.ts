/**
 * A throw-away database per test file on the real PostgreSQL server, so
 * Postgres tests never share state. Without a server they are skipped loudly
 * on a laptop, but under CI they must run: a silent skip there would pass a
 * build that tested nothing.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import pg from 'pg';
import { DATABASES_LIST } from './drop-databases.ts';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Error codes meaning nothing answered at that address (as opposed to a refusal the server sent). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);

/**
 * Creates an empty database `cs_test_<pid>_<hex>` next to DATABASE_URL's and
 * returns its URL; undefined (after a loud warning) when no server answers outside CI.
 * With `template`, the database is a copy of that one (test-store.ts: a migrated store).
 *
 * @example
 * const db = await createTestDatabase();
 * describe.skipIf(!db)('orders', () => { afterAll(() => db?.drop()); ... });
 */
export async function createTestDatabase(opts: { template?: (adminUrl: string) => Promise<string | undefined> } = {}): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const adminUrl = process.env['DATABASE_URL'] || DEFAULT_ADMIN_URL;
  const parsed = new URL(adminUrl);
  const where = `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;

  const admin = await connect(adminUrl);
  if (admin instanceof Error) {
    if (process.env['CI']) {
      throw new Error(`PostgreSQL is required under CI but is not reachable at ${where} (set DATABASE_URL)`, { cause: admin });
    }
    console.warn(`\n!!! PostgreSQL not reachable at ${where} — SKIPPING Postgres tests (set DATABASE_URL; under CI=true they must run) !!!\n`);
    return undefined;
  }

  const name = `cs_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    const template = opts.template ? await opts.template(adminUrl) : undefined;
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
    // For the end of the run (drop-databases.ts): this file's afterAll may never run.
    const list = process.env[DATABASES_LIST];
    if (list) appendFileSync(list, `${JSON.stringify({ name, admin: adminUrl })}\n`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = await connect(adminUrl);
      if (client instanceof Error) throw client;
      try {
        const { rows } = await client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
        if ((rows[0]?.v ?? 0) >= 130000) {
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } else {
          await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
          await client.query(`DROP DATABASE IF EXISTS ${name}`);
        }
      } finally {
        await client.end();
      }
    },
  };
}

/** A connected client, or the error when nothing answered; a refusal by the server (bad password) throws. */
async function connect(url: string): Promise<pg.Client | Error> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return client;
  } catch (e) {
    await client.end().catch(() => {});
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const timedOut = e instanceof Error && /timeout/i.test(e.message);
    if (UNREACHABLE.has(code) || timedOut) return e instanceof Error ? e : new Error(String(e));
    throw e;
  }
}

/**
 * One query on its own connection, its rows back (a test's look at, or change to, a database under a gateway).
 *
 * @example
 * const [row] = await queryOnce(db.url, 'SELECT count(*)::int AS n FROM requests');
 */
export async function queryOnce(url: string, text: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/**
 * Waits (up to 20 s) until a session of `admin`'s database waits on the catalog latch's shared lock: a statement of the
 * gateway's has reached the latch that a test's uncommitted DDL holds. True once one does.
 *
 * @example
 * expect(await waitingOnLatch(admin)).toBe(true);
 */
export async function waitingOnLatch(admin: pg.Client): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock_shared%'`);
    if (r.rows.length > 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((res) => setTimeout(res, 25));
  }
}
