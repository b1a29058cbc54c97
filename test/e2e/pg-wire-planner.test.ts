/**
 * The Postgres wire listener: a read whose SQL names only built-ins still
 * runs functions the planner calls for the relations it reads. Planning a
 * query folds each IMMUTABLE function with constant arguments in the index
 * expressions and predicates of the tables read, their extended statistics'
 * expressions, their partition key, the CHECK constraints of inheritance
 * children, and calls a range type's subtype_diff to estimate a range
 * operator. A function a database user declared IMMUTABLE runs whatever it
 * holds there, in the read's transaction under the gateway's role: it can
 * read what policy denies, signal other sessions, take locks. Each such read
 * must be refused (55000) before it runs, as a view or a policy calling the
 * same function is.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, Raw, type Msg } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** A function that leaks the secrets the policy denies and takes advisory lock `lock`, declared IMMUTABLE so the planner folds it. */
const evil = (name: string, lock: number) => `CREATE FUNCTION public.${name}(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
  BEGIN RAISE NOTICE 'leak %', (SELECT s FROM secrets LIMIT 1); PERFORM pg_advisory_lock(${lock}); RETURN x; END $$`;

/** Reads the planner of which runs a function of a database user's, and the setup each needs (made with the function's body quiet). */
const CASES: { what: string; lock: number; setup: (f: string) => string; sql: string }[] = [
  { what: 'an index expression', lock: 9101, setup: (f) => `CREATE TABLE ie (id int); CREATE INDEX ON ie ((id + ${f}(0)))`, sql: 'SELECT count(*) FROM ie' },
  { what: 'a partial index predicate', lock: 9102, setup: (f) => `CREATE TABLE ip (id int); CREATE INDEX ON ip (id) WHERE ${f}(0) > -1`, sql: 'SELECT count(*) FROM ip' },
  { what: 'an extended statistics expression', lock: 9103, setup: (f) => `CREATE TABLE es (a int, b int); CREATE STATISTICS es_s ON (a + ${f}(0)), b FROM es`, sql: 'SELECT count(*) FROM es WHERE b > 3' },
  { what: 'a partition key expression', lock: 9104, setup: (f) => `CREATE TABLE pk (a int) PARTITION BY RANGE ((a + ${f}(0))); CREATE TABLE pk1 PARTITION OF pk FOR VALUES FROM (0) TO (100)`, sql: 'SELECT count(*) FROM pk' },
  { what: "an inheritance child's index expression", lock: 9105, setup: (f) => `CREATE TABLE ih (a int); CREATE TABLE ih1 () INHERITS (ih); CREATE INDEX ON ih1 ((a + ${f}(0)))`, sql: 'SELECT count(*) FROM ih' },
  { what: "an inheritance child's CHECK constraint (constraint_exclusion = partition)", lock: 9106, setup: (f) => `CREATE TABLE ic (a int); CREATE TABLE ic1 (CHECK (a + ${f}(0) > -1000)) INHERITS (ic)`, sql: 'SELECT count(*) FROM ic WHERE a > 3' },
  {
    what: "a range type's subtype_diff (selectivity of a range operator)",
    lock: 9107,
    setup: (f) => `CREATE FUNCTION public.${f}_diff(a float8, b float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT (public.${f}(0) + a - b)::float8 $$;
      CREATE TYPE fr AS RANGE (subtype = float8, subtype_diff = public.${f}_diff);
      CREATE TABLE rt (r fr); INSERT INTO rt SELECT fr(i, i + 1) FROM generate_series(1, 200) i; ANALYZE rt`,
    sql: "SELECT count(*) FROM rt WHERE r && '[3,5)'",
  },
];

describe.skipIf(!db)('the Postgres wire listener: a read runs no function the planner calls for what it reads', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('hunter2')`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const held = async (lock: number) =>
    (await direct.query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", [lock])).rows;

  it('tables whose indexes, statistics, partition key and CHECKs call only built-ins are still read (run before any range type of a user is made: its multirange cast refuses every read)', async () => {
    await direct.query(`CREATE TABLE plain (id int, note text); INSERT INTO plain VALUES (1, 'one');
      CREATE INDEX ON plain (lower(note)); CREATE INDEX ON plain (id) WHERE id > 0; CREATE STATISTICS plain_s ON (id + 1), note FROM plain;
      CREATE TABLE plain_parted (a int) PARTITION BY RANGE ((a + 1)); CREATE TABLE plain_parted1 PARTITION OF plain_parted FOR VALUES FROM (0) TO (100);
      CREATE TABLE plain_inh (a int); CREATE TABLE plain_inh1 (CHECK (a > 0)) INHERITS (plain_inh)`);
    const c = await Raw.open(gw);
    try {
      for (const sql of ["SELECT note FROM plain WHERE lower(note) = 'one'", 'SELECT count(*) FROM plain_parted', 'SELECT count(*) FROM plain_inh WHERE a > 3']) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toEqual([]);
      }
    } finally {
      c.end();
    }
  });

  it("a foreign table: what its server runs is out of the check's sight (a loopback server's view that deletes, file_fdw's program), so a read of one is refused and nothing happened", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-fdw-'));
    const mark = join(dir, 'ran');
    const u = new URL(db!.url);
    await direct.query(`CREATE EXTENSION postgres_fdw; CREATE EXTENSION file_fdw;
      CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${u.hostname}', port '${u.port || '5432'}', dbname '${u.pathname.slice(1)}');
      CREATE USER MAPPING FOR CURRENT_USER SERVER loop OPTIONS (user '${decodeURIComponent(u.username) || 'postgres'}');
      CREATE TABLE victim (id int); INSERT INTO victim VALUES (1), (2);
      CREATE FUNCTION public.wipe() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.victim; RETURN 1; END $$;
      CREATE VIEW remote_v AS SELECT public.wipe() AS x;
      CREATE FOREIGN TABLE ft (x int) SERVER loop OPTIONS (table_name 'remote_v');
      CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
      CREATE FOREIGN TABLE ff (x text) SERVER files OPTIONS (program 'touch ${mark}; echo x')`);
    const c = await Raw.open(gw);
    try {
      for (const sql of ['SELECT x FROM ft', 'SELECT x FROM ff']) {
        c.send(serialize.query(sql));
        const answer = await c.until('readyForQuery');
        expect(errors(answer)).toEqual(['55000']);
        expect(answer.find((m) => m.name === 'error')?.message).toContain('foreign table');
      }
      expect((await direct.query('SELECT count(*)::int AS n FROM victim')).rows).toEqual([{ n: 2 }]);
      expect(existsSync(mark)).toBe(false);
    } finally {
      c.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const { what, lock, setup, sql } of CASES) {
    it(`${what}: refused (55000); the function ran nothing, leaked nothing`, async () => {
      const f = `f${lock}`;
      // Made with a harmless body (creating the objects runs it), then given its real one.
      await direct.query(`CREATE FUNCTION public.${f}(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x $$`);
      await direct.query(setup(f));
      await direct.query(evil(f, lock).replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
      const c = await Raw.open(gw);
      try {
        c.send(serialize.query(sql));
        const answer: Msg[] = await c.until('readyForQuery');
        expect(answer.filter((m) => m.name === 'notice').map((m) => m.message)).not.toContainEqual(expect.stringContaining('hunter2'));
        expect(await held(lock)).toEqual([]);
        expect(errors(answer)).toEqual(['55000']);
        expect(answer.find((m) => m.name === 'error')?.message).toContain(`public.${f}`);
      } finally {
        c.end();
      }
    });
  }

});
