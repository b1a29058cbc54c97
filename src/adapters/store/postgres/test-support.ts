/**
 * For tests of this adapter only: empties every table of the store (keeping
 * the schema and its migrations) so a test starts from a new, empty log.
 */
import pg from 'pg';

export async function emptyStore(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(
      `SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'audit_head')`,
    );
    await c.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')} RESTART IDENTITY`);
    await c.query(`UPDATE audit_head SET seq = 0, hash = '', time = ''`);
  } finally {
    await c.end();
  }
}
