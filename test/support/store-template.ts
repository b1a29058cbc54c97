/**
 * A migrated PostgreSQL database the gateways' throwaway stores are copied
 * from (CREATE DATABASE … TEMPLATE), made once per run by the first worker
 * that needs one. Migrating an empty database took about 0.7 s of the server
 * and of the test's wall time, once per gateway store of the postgres project;
 * a copy of a migrated one takes about 0.1 s. The gateway still opens the
 * store through its own migrate(), which finds every step applied (as any
 * restart of a replica does). Migrating an empty database stays tested where
 * it is the point: the store's own suites (src/adapters/store/postgres/*.test.ts)
 * and the files that make a database with createTestDatabase() directly.
 *
 * Its name comes from the global setup (drop-databases.ts, which also drops it
 * at the end of the run); without one (the variable unset), stores start empty.
 */
import { appendFileSync } from 'node:fs';
import pg from 'pg';
import { createPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { DATABASES_LIST, STORE_TEMPLATE } from './drop-databases.ts';

/** Advisory lock key the workers take turns under while one of them makes the template. */
const TEMPLATE_LOCK = 0x63735f74706c;

let made: Promise<string | undefined> | undefined;

/** The template's name once it exists (made here if no worker made it yet), or undefined when the run names none. */
export function storeTemplate(adminUrl: string): Promise<string | undefined> {
  const name = process.env[STORE_TEMPLATE];
  if (!name || !/^cs_test_\d+_[0-9a-f]+$/.test(name)) return Promise.resolve(undefined);
  made ??= ensure(adminUrl, name).catch((e: unknown) => {
    made = undefined; // the next store tries again
    throw e;
  });
  return made;
}

async function ensure(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      // Built under a name of its own and renamed when whole: a worker that died half way leaves no half-migrated template.
      const building = `${name}b`;
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${building}`);
      const list = process.env[DATABASES_LIST];
      if (list) appendFileSync(list, `${JSON.stringify({ name: building, admin: adminUrl })}\n${JSON.stringify({ name, admin: adminUrl })}\n`);
      const url = new URL(adminUrl);
      url.pathname = `/${building}`;
      const store = await createPostgresStore({ url: url.toString(), poolSize: 1 });
      await store.close();
      // FORCE-free rename: the store's connection is closed; the server refuses while a session is still on it.
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
    return name;
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => {});
    await admin.end();
  }
}
