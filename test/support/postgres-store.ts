/**
 * For tests of the PostgreSQL store: empties every table of the store (keeping
 * the schema and its migrations) so a test starts from a new, empty log.
 * Close the stores over it first: a store remembers the ids of the term sets
 * it has seen, which emptying takes away.
 */
import pg from 'pg';

/**
 * Every table but the migrations' emptied, and the audit head back at the start, in one transaction. DELETE, not
 * TRUNCATE: on tables this small it is several times faster. Reviews and their keys go before the requests they
 * reference. The tables are listed by the server, so a table a later migration adds is emptied too.
 */
const EMPTY = `DO $$ DECLARE t text; BEGIN
  FOR t IN SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'audit_head')
           ORDER BY tablename IN ('reviews', 'review_keys') DESC LOOP
    EXECUTE 'DELETE FROM ' || t;
  END LOOP;
  UPDATE audit_head SET seq = 0, hash = '', time = '', edge = NULL, edge_seq = NULL;
END $$`;

export async function emptyStore(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(EMPTY);
  } finally {
    await c.end();
  }
}

/**
 * One connection beside a file's stores, opened at first use: `empty()` as emptyStore, and `query` for what a test
 * reads or changes from outside the stores. A connection per call starts a server backend each time, most of an
 * emptyStore (about 55 of 60 ms on a quiet machine, 125–170 of 140–170 under load; 10–18 ms on a kept connection),
 * and a contract suite empties the store before each of its ~100 tests. Close it in the file's afterAll.
 */
export function storeSide(url: string) {
  let client: Promise<pg.Client> | undefined;
  const connected = () =>
    (client ??= (async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    })());
  return {
    empty: async (): Promise<void> => void (await (await connected()).query(EMPTY)),
    /** Rows as arrays of column values. */
    query: async (text: string, values: unknown[] = []): Promise<unknown[][]> => (await (await connected()).query({ text, values, rowMode: 'array' })).rows as unknown[][],
    async close(): Promise<void> {
      if (client) await (await client).end();
      client = undefined;
    },
  };
}
