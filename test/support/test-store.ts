/**
 * Which store the tests' gateways run on: SQLite (the default), or PostgreSQL
 * when COUNTERSIGN_TEST_STORE=postgres (the `postgres` vitest project). Test
 * configs are written with a SQLite path; `storeYaml` swaps that for a
 * throwaway database of its own per store path, so gateways meant to share
 * one store (a restart, a second replica, a child process) share one database
 * and nothing else does. Each is a copy of a migrated database made once per
 * run (store-template.ts). Databases are dropped when released, and any left
 * at the end of the test file or the process.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase } from './postgres.ts';
import { storeTemplate } from './store-template.ts';

export type TestStoreKind = 'sqlite' | 'postgres';

/** COUNTERSIGN_TEST_STORE, checked: a typo must not silently test SQLite twice. */
export function testStoreKind(): TestStoreKind {
  const v = process.env['COUNTERSIGN_TEST_STORE'] || 'sqlite';
  if (v !== 'sqlite' && v !== 'postgres') throw new Error(`COUNTERSIGN_TEST_STORE=${v}: expected sqlite or postgres`);
  return v;
}

/**
 * For a test that reads the SQLite file itself (better-sqlite3, triggers on
 * its tables): says so when run on PostgreSQL, instead of failing on a file
 * that was never made.
 */
export function sqliteOnly(reason: string): void {
  if (testStoreKind() !== 'sqlite') throw new Error(`SQLite-only test run with COUNTERSIGN_TEST_STORE=${testStoreKind()}: ${reason}`);
}

interface Database {
  readonly url: string;
  drop(): Promise<void>;
}

/** One database per store path (resolved), made on first use. */
const databases = new Map<string, Promise<Database>>();
/** Names of the databases made and not yet dropped, for the exit backstop (which cannot wait for a promise). */
const live = new Set<string>();

async function databaseFor(dbPath: string): Promise<Database> {
  const key = resolve(dbPath);
  let db = databases.get(key);
  if (!db) {
    db = createTestDatabase({ template: storeTemplate }).then((made) => {
      if (!made) throw new Error('COUNTERSIGN_TEST_STORE=postgres, but no PostgreSQL server answers (set DATABASE_URL)');
      const name = new URL(made.url).pathname.slice(1);
      live.add(name);
      return { url: made.url, drop: () => made.drop().then(() => void live.delete(name)) };
    });
    databases.set(key, db);
  }
  return db;
}

const SQLITE_STORE = /^store: \{ sqlite: \{ path: ("(?:[^"\\]|\\.)*") \} \}$/m;

/**
 * The config's YAML for the store in use: as it is on SQLite; on PostgreSQL
 * with its `store: { sqlite: { path } }` line replaced by the database for
 * that path.
 *
 * @example
 * const yaml = await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body, dbPath));
 */
export async function storeYaml(yaml: string): Promise<string> {
  if (testStoreKind() === 'sqlite') return yaml;
  const m = SQLITE_STORE.exec(yaml);
  if (!m && /^store: \{ postgres: /m.test(yaml)) return yaml; // already done (a config file's YAML, started again)
  if (!m) throw new Error('COUNTERSIGN_TEST_STORE=postgres: this config names no `store: { sqlite: { path } }` line to replace');
  const db = await databaseFor(JSON.parse(m[1]!) as string);
  return yaml.replace(SQLITE_STORE, `store: { postgres: { url: ${JSON.stringify(db.url)}, poolSize: 4 } }`);
}

/**
 * The rows of a read of the store at `dbPath` itself, on either kind: for a test that asserts what the Store port does
 * not show (an outbox row's attempts). Write the SQL both servers read alike (quote a camel-case alias).
 *
 * @example
 * const rows = await readTestStore<{ state: string }>(gw.dbPath, 'SELECT state FROM outbox');
 */
export async function readTestStore<T>(dbPath: string, sql: string): Promise<T[]> {
  if (testStoreKind() === 'sqlite') {
    const db = new Sqlite(dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: (await databaseFor(dbPath)).url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Drops the database of `dbPath` (when there is one): its gateways are stopped and nothing opens it again. */
export async function releaseTestStore(dbPath: string): Promise<void> {
  const key = resolve(dbPath);
  const db = databases.get(key);
  if (!db) return;
  databases.delete(key);
  await (await db).drop();
}

/**
 * Drops every database made and not yet released: after each test file (test/support/release-stores.ts, a setup
 * file, since a worker may keep this module from one file to the next), so one a test forgot is still dropped.
 */
export async function releaseAllTestStores(): Promise<void> {
  await Promise.all([...databases.keys()].map((k) => releaseTestStore(k)));
}

// And (synchronously) at exit.
process.once('exit', () => {
  const admin = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
  for (const name of live) {
    try {
      execFileSync('psql', [admin, '-qAt', '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* no psql, or the server went first: nothing more to do at exit */
    }
  }
});
