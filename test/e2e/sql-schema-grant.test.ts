/**
 * CREATE SCHEMA runs the statements written in it (its schema elements) at
 * once, GRANT among them, and a GRANT there may name any object, not only the
 * schema's own: `CREATE SCHEMA s GRANT SELECT ON public.t TO PUBLIC`. The facts
 * listed the statement as a `create` alone, so a rule allowing creates by
 * statement type let an agent grant itself (or anyone) what it pleased, and a
 * rule denying grants by type did not see one. Now the GRANT is
 * listed among the statements, as a write nested in a statement is.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** Reads, and SELECT and CREATE by statement type, allowed: agents make their own tables and schemas. */
const POLICY = byTypePolicy(['select', 'create']);

describe.skipIf(!db)('a GRANT written inside CREATE SCHEMA is a grant, not a create', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const granted = async () => (await direct.query<{ ok: boolean }>("SELECT has_table_privilege('public', 'public.t', 'SELECT') AS ok")).rows[0]!.ok;
  const schema = async (name: string) => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [name])).rows[0]!.n === 1;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE t (id int); REVOKE ALL ON t FROM PUBLIC');
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('over the wire listener and REST: refused by the default (no rule allows a grant), nothing granted, no schema made', async () => {
    expect((await queryOnce(gw, 'CREATE SCHEMA s1 GRANT SELECT ON public.t TO PUBLIC')).codes).toEqual(['42501']);
    expect((await queryOnce(gw, 'CREATE SCHEMA s2 CREATE TABLE x (id int) GRANT ALL ON public.t TO PUBLIC')).codes).toEqual(['42501']);
    const r = await sqlAction(gw, 'CREATE SCHEMA s3 GRANT SELECT ON public.t TO PUBLIC');
    expect(r.status).toBe(403);
    expect(await granted()).toBe(false);
    for (const s of ['s1', 's2', 's3']) expect(await schema(s), s).toBe(false);
  });

  it('a CREATE SCHEMA that only creates still runs under the rule', async () => {
    expect((await queryOnce(gw, 'CREATE SCHEMA s4 CREATE TABLE x (id int) CREATE VIEW v AS SELECT 1 AS one')).codes).toEqual([]);
    expect(await schema('s4')).toBe(true);
  });
});
