/**
 * SELECT … INTO is CREATE TABLE … AS by another name, and EXPLAIN ANALYZE runs
 * the CREATE TABLE … AS it explains. Their facts said `select` (and no DDL) and
 * `explain` alone, so a rule allowing SELECT and EXPLAIN by statement type let
 * an agent create tables, and one holding creates or denying DDL did not see
 * them. Now SELECT … INTO is a `create` (DDL), and EXPLAIN ANALYZE lists the
 * create it runs, as it lists a DELETE. So is a UNION, INTERSECT or EXCEPT whose
 * leftmost SELECT has the INTO: the server makes the table from the whole.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** Reads allowed; SELECT and EXPLAIN allowed by statement type; anything creating held. */
const POLICY = byTypePolicy(['select', 'explain'], `    - id: creates
      when: facts.sql.statements.exists(s, s.type == "create") || facts.sql.ddl
      effect: approve
      approvers: [{ groups: [dba], count: 1 }]
`);

const wire = async (gw: TestGateway, sql: string) => (await queryOnce(gw, sql)).codes;

describe.skipIf(!db)('SELECT … INTO and EXPLAIN ANALYZE of a CREATE TABLE … AS are creates, not selects', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const exists = async (name: string) => (await direct.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [name])).rows[0]!.r !== null;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const CREATES = [
    ['SELECT * INTO made1 FROM t', 'made1'],
    ['SELECT id INTO UNLOGGED TABLE made2 FROM t', 'made2'],
    ['EXPLAIN ANALYZE SELECT * INTO made3 FROM t', 'made3'],
    ['EXPLAIN ANALYZE CREATE TABLE made4 AS SELECT * FROM t', 'made4'],
    ['EXPLAIN (ANALYZE, COSTS off) CREATE MATERIALIZED VIEW made5 AS SELECT * FROM t', 'made5'],
    // The server looks for INTO in the leftmost SELECT of a UNION, INTERSECT or EXCEPT, not on the set operation.
    ['SELECT id INTO made6 FROM t UNION SELECT 2', 'made6'],
    ['(SELECT id INTO made7 FROM t) INTERSECT SELECT 1 EXCEPT SELECT 3', 'made7'],
    ['EXPLAIN ANALYZE SELECT id INTO made8 FROM t UNION ALL SELECT 2', 'made8'],
  ] as const;

  it('over the wire listener: each held (CS001), no table made', async () => {
    for (const [sql, name] of CREATES) {
      expect(await wire(gw, sql), sql).toEqual(['CS001']);
      expect(await exists(name), sql).toBe(false);
    }
  }, 60_000);

  it('over REST: each held for approval, no table made', async () => {
    for (const [sql, name] of CREATES) {
      const r = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });
      expect(r.status, sql).toBe(202);
      expect((r.body as { status: string }).status, sql).toBe('pending');
      expect(await exists(name), sql).toBe(false);
    }
  }, 60_000);

  it('SELECT and EXPLAIN the rule allows still run', async () => {
    expect(await wire(gw, 'SELECT id FROM t')).toEqual([]);
    expect(await wire(gw, 'EXPLAIN ANALYZE SELECT id FROM t')).toEqual([]);
  });
});
