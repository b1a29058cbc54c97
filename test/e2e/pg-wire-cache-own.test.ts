/**
 * The session check cache against the agent's own session: a policy allowing
 * creates, alters and drops by type lets the agent run DDL through the
 * gateway, as the database role the gateway connects as. Whatever that DDL
 * does to the counter the cache trusts (a rule or trigger that turns its
 * update into nothing, a child table holding its row, a view in its place),
 * a statement the full check refuses is refused after it, never run behind
 * a cached verdict.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDdlEpochSql } from '../../src/adapters/executor/sql/guard-cache.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { client } from '../support/pg-wire-clients.ts';
import { byTypePolicy } from '../support/sql-by-type.ts';

const db = await createTestDatabase();

describe.skipIf(!db)("sessionCheckCache and DDL in the agent's own session (real PostgreSQL)", () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(installDdlEpochSql());
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);
      CREATE VIEW v AS SELECT id FROM t;
      CREATE FUNCTION public.leak(x int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN x; END$$;`);
    const policy = byTypePolicy(['create', 'alter', 'drop', 'insert', 'delete']).replace('url: ${APP_DB_URL}\n', 'url: ${APP_DB_URL}\n    sessionCheckCache: true\n');
    expect(policy).toContain('sessionCheckCache: true');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }', principals: DEFAULT_PRINCIPALS });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
    await db?.drop();
  });

  const tampering: { name: string; sql: string; undo: string }[] = [
    { name: 'a rule doing nothing instead of the update', sql: 'CREATE RULE frozen AS ON UPDATE TO countersign.ddl_epoch DO INSTEAD NOTHING', undo: 'DROP RULE frozen ON countersign.ddl_epoch' },
    {
      name: 'a trigger skipping the update',
      sql: `CREATE FUNCTION public.skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TRIGGER frozen BEFORE UPDATE ON countersign.ddl_epoch FOR EACH ROW EXECUTE FUNCTION public.skip()`,
      undo: 'DROP TRIGGER frozen ON countersign.ddl_epoch; DROP FUNCTION public.skip()',
    },
    {
      name: 'its row moved to a child table whose updates are skipped',
      sql: `CREATE FUNCTION public.skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TABLE countersign.child () INHERITS (countersign.ddl_epoch);
        CREATE TRIGGER frozen BEFORE UPDATE ON countersign.child FOR EACH ROW EXECUTE FUNCTION public.skip();
        INSERT INTO countersign.child SELECT * FROM countersign.ddl_epoch;
        DELETE FROM ONLY countersign.ddl_epoch`,
      undo: 'INSERT INTO countersign.ddl_epoch SELECT * FROM countersign.child; DROP TABLE countersign.child; DROP FUNCTION public.skip()',
    },
  ];

  for (const t of tampering) {
    it(`${t.name}: the view replaced after it is refused as the full check refuses it, and leak() never runs`, async () => {
      const c = client(gw);
      await c.connect();
      const refusal = (sql: string) => c.query(sql).then(() => undefined, (e: { code?: string; message?: string }) => e);
      const notices: string[] = [];
      c.on('notice', (m) => notices.push(m.message ?? ''));
      const sql = 'SELECT id FROM v';
      try {
        expect((await c.query(sql)).rows).toEqual([{ id: 1 }]);
        expect((await c.query(sql)).rows).toEqual([{ id: 1 }]);
        // Each statement on its own, as the agent sends them.
        for (const s of t.sql.split(/;\s*(?=CREATE|INSERT|DELETE)/)) await c.query(s);
        await c.query(sql);
        await c.query('CREATE OR REPLACE VIEW v AS SELECT public.leak(id) AS id FROM t');
        const refused = await refusal(sql);
        expect(refused?.code).toBe('55000');
        expect(refused?.message).toContain('public.leak');
        expect(notices).toEqual([]);
      } finally {
        await c.end();
        await direct.query(`CREATE OR REPLACE VIEW v AS SELECT id FROM t; ${t.undo}`);
      }
    });
  }
});
