/**
 * Vitest global setup: every throwaway database a test file makes is dropped
 * at the end of the run, whatever became of the file. A file makes its
 * database when it is imported, and drops it in an afterAll; that hook never
 * runs when `-t` filters out all of the file's tests, and not at all when the
 * worker dies. The files write each name they make to a list
 * (test/support/postgres.ts); this drops what is left on it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The environment variable naming the list: set here, inherited by the workers. */
export const DATABASES_LIST = 'COUNTERSIGN_TEST_DATABASES';
/** The environment variable naming the run's store template (store-template.ts): named here, made on first use. */
export const STORE_TEMPLATE = 'COUNTERSIGN_TEST_STORE_TEMPLATE';

export default function dropDatabases(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-test-dbs-'));
  const list = join(dir, 'made');
  process.env[DATABASES_LIST] = list;
  process.env[STORE_TEMPLATE] = `cs_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  return async () => {
    let made: { name: string; admin: string }[] = [];
    try {
      made = readFileSync(list, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { name: string; admin: string });
    } catch {
      /* none made */
    }
    for (const { name, admin } of made) {
      if (!/^cs_test_\d+_[0-9a-f]+$/.test(name)) continue;
      const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3000 });
      try {
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        /* the server is gone: nothing more to do */
      } finally {
        await client.end().catch(() => {});
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
