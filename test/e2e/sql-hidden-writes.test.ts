/**
 * Statements that run another kind of statement inside them, which a rule
 * allowing their own kind by statement type did not see:
 *
 * - CREATE SCHEMA runs the statements written in it (its schema elements) at
 *   once, GRANT among them, and a GRANT there may name any object, not only
 *   the schema's own: `CREATE SCHEMA s GRANT SELECT ON public.t TO PUBLIC`.
 *   Listed as a `create` alone, a rule allowing creates let an agent grant
 *   what it pleased, and a rule denying grants did not see one.
 * - INSERT … ON CONFLICT DO UPDATE updates the rows already there that the
 *   new ones collide with. Listed as an `insert` alone, a rule allowing
 *   inserts (rows added, none changed) let an agent overwrite any row.
 *
 * - DROP POLICY, DROP TRIGGER and DROP RULE name the table they are on, but
 *   the facts did not list it (ALTER POLICY … ON did): a rule denying a table
 *   did not see its row-level security policy or audit trigger dropped.
 *
 * - MERGE runs the INSERT, UPDATE and DELETE its WHEN clauses name. Listed as
 *   a `merge` alone, a rule denying deletes by type did not see
 *   `WHEN MATCHED THEN DELETE`.
 *
 * - A CASCADE reaches objects the statement does not name: TRUNCATE of a
 *   table empties the tables whose foreign keys point at it (secrets among
 *   them), DROP FUNCTION … CASCADE drops the audit trigger on secrets. And
 *   DROP OWNED drops whatever a role owns. A rule allowing drops and
 *   truncates by type, or denying secrets by name, saw none of it: now a
 *   CASCADE is a statement of type `cascade`, DROP OWNED a `drop_owned`.
 *
 * - CREATE OR REPLACE FUNCTION pg_catalog.to_hex(integer) keeps the
 *   function's oid (initdb's, which the session check trusts as the
 *   server's own) and swaps its body: with a superuser gateway role and a
 *   rule allowing creates by type, any read calling to_hex() then ran the
 *   agent's SQL unchecked. Now such a statement is also of type `catalog`.
 *
 * Now the GRANT is listed as a `grant`, and the upsert's UPDATE as an `update`,
 * as a write nested in a statement is, and a dropped policy, trigger or rule
 * lists its table.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** Reads, and SELECT, CREATE, DROP and INSERT by statement type, allowed: agents add rows and make their own tables and schemas; but nothing on secrets. */
const POLICY = byTypePolicy(
  ['select', 'create', 'drop', 'insert'],
  `    - id: no-secrets
      when: facts.sql.tables.exists(t, t == "secrets" || t.endsWith(".secrets"))
      effect: deny
`,
);

describe.skipIf(!db)('a GRANT inside CREATE SCHEMA is a grant, and the UPDATE of an upsert an update', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const granted = async () => (await direct.query<{ ok: boolean }>("SELECT has_table_privilege('public', 'public.t', 'SELECT') AS ok")).rows[0]!.ok;
  const schema = async (name: string) => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [name])).rows[0]!.n === 1;
  const rows = async () => (await direct.query('SELECT id, v FROM t ORDER BY id')).rows;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'kept'); REVOKE ALL ON t FROM PUBLIC");
    await direct.query(`CREATE TABLE secrets (owner text, v text); ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
      CREATE POLICY own ON secrets USING (owner = current_user);
      CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER audited BEFORE UPDATE ON secrets FOR EACH ROW EXECUTE FUNCTION audit();
      CREATE RULE keep AS ON DELETE TO secrets DO INSTEAD NOTHING`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('CREATE SCHEMA … GRANT, over the wire listener and REST: refused by the default (no rule allows a grant), nothing granted, no schema made', async () => {
    expect((await queryOnce(gw, 'CREATE SCHEMA s1 GRANT SELECT ON public.t TO PUBLIC')).codes).toEqual(['42501']);
    expect((await queryOnce(gw, 'CREATE SCHEMA s2 CREATE TABLE x (id int) GRANT ALL ON public.t TO PUBLIC')).codes).toEqual(['42501']);
    const r = await sqlAction(gw, 'CREATE SCHEMA s3 GRANT SELECT ON public.t TO PUBLIC');
    expect(r.status).toBe(403);
    expect(await granted()).toBe(false);
    for (const s of ['s1', 's2', 's3']) expect(await schema(s), s).toBe(false);
  });

  it('INSERT … ON CONFLICT DO UPDATE, over the wire listener and REST: refused by the default (no rule allows an update), the row kept', async () => {
    expect((await queryOnce(gw, "INSERT INTO t VALUES (1, 'new') ON CONFLICT (id) DO UPDATE SET v = 'overwritten'")).codes).toEqual(['42501']);
    expect((await queryOnce(gw, "INSERT INTO t VALUES (1, 'new') ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET v = excluded.v WHERE t.id = 1")).codes).toEqual(['42501']);
    const r = await sqlAction(gw, "INSERT INTO t VALUES (1, 'new') ON CONFLICT (id) DO UPDATE SET v = 'overwritten'");
    expect(r.status).toBe(403);
    expect(await rows()).toEqual([{ id: 1, v: 'kept' }]);
  });

  it('DROP POLICY, TRIGGER or RULE on the denied table, over the wire listener and REST: denied by the table\'s rule, each still there', async () => {
    const on = async () => (await direct.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM pg_policy WHERE polname = 'own') + (SELECT count(*) FROM pg_trigger WHERE tgname = 'audited') + (SELECT count(*) FROM pg_rewrite WHERE rulename = 'keep') AS n`,
    )).rows[0]!.n;
    for (const sql of ['DROP POLICY own ON secrets', 'DROP TRIGGER audited ON public.secrets', 'DROP RULE IF EXISTS keep ON secrets']) {
      expect((await queryOnce(gw, sql)).codes, sql).toEqual(['42501']);
      expect((await sqlAction(gw, sql)).status, sql).toBe(403);
    }
    expect(Number(await on())).toBe(3);
  });

  it('MERGE … WHEN MATCHED THEN DELETE under a rule allowing merges but denying deletes by type, over the wire listener and REST: denied, the rows kept', async () => {
    const merges = byTypePolicy(
      ['select', 'merge', 'insert'],
      `    - id: no-deletes
      when: facts.sql.statements.exists(s, s.type == "delete")
      effect: deny
`,
    );
    const other = await startTestGateway(merges, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
    try {
      const del = 'MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE';
      expect((await queryOnce(other, del)).codes).toEqual(['42501']);
      expect((await sqlAction(other, `${del} WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'm')`)).status).toBe(403);
      expect((await queryOnce(other, 'MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE')).codes).toEqual(['42501']);
      expect(await rows()).toEqual([{ id: 1, v: 'kept' }]);
      // A MERGE that only inserts is what the rules allow: it runs.
      expect((await queryOnce(other, "MERGE INTO t USING (SELECT 3 AS id) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'merged')")).codes).toEqual([]);
      expect(await rows()).toEqual([{ id: 1, v: 'kept' }, { id: 3, v: 'merged' }]);
      await direct.query('DELETE FROM t WHERE id = 3');
    } finally {
      await other.stop();
    }
  });

  it('a CASCADE past the named table, and DROP OWNED, under rules allowing drops and truncates by type: refused, secrets\' rows and trigger kept', async () => {
    const other = await startTestGateway(byTypePolicy(['select', 'drop', 'truncate']), { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
    try {
      await direct.query("CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (1); ALTER TABLE secrets ADD COLUMN pid int REFERENCES parent (id); INSERT INTO secrets VALUES ('x', 'kept', 1)");
      const secrets = async () => (await direct.query<{ n: number }>("SELECT (SELECT count(*) FROM secrets)::int + (SELECT count(*) FROM pg_trigger WHERE tgname = 'audited')::int AS n")).rows[0]!.n;
      expect((await queryOnce(other, 'TRUNCATE parent CASCADE')).codes).toEqual(['42501']);
      expect((await sqlAction(other, 'TRUNCATE parent CASCADE')).status).toBe(403);
      expect((await queryOnce(other, 'DROP FUNCTION audit() CASCADE')).codes).toEqual(['42501']);
      expect((await queryOnce(other, 'DROP OWNED BY cs_no_such_role')).codes).toEqual(['42501']);
      expect(await secrets()).toBe(2);
      // Without CASCADE the server refuses what would reach further, and the rule allows the statement itself.
      expect((await queryOnce(other, 'TRUNCATE parent')).codes).toEqual(['0A000']);
      expect(await secrets()).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it('CREATE OR REPLACE of a function initdb made, over the wire listener and REST: refused by the default, the function as it was', async () => {
    const replace = "CREATE OR REPLACE FUNCTION pg_catalog.to_hex(integer) RETURNS text LANGUAGE sql AS $$ SELECT 'replaced' $$";
    expect((await queryOnce(gw, replace)).codes).toEqual(['42501']);
    expect((await sqlAction(gw, replace)).status).toBe(403);
    expect((await queryOnce(gw, 'ALTER FUNCTION pg_catalog.to_hex(integer) RENAME TO to_hex_old')).codes).toEqual(['42501']);
    expect((await direct.query<{ h: string }>('SELECT pg_catalog.to_hex(255) AS h')).rows[0]!.h).toBe('ff');
  });

  it('what the rule allows still runs: a CREATE SCHEMA that only creates, an INSERT, one ON CONFLICT DO NOTHING', async () => {
    expect((await queryOnce(gw, 'CREATE SCHEMA s4 CREATE TABLE x (id int) CREATE VIEW v AS SELECT 1 AS one')).codes).toEqual([]);
    expect(await schema('s4')).toBe(true);
    expect((await queryOnce(gw, "INSERT INTO t VALUES (2, 'added')")).codes).toEqual([]);
    expect((await queryOnce(gw, "INSERT INTO t VALUES (1, 'new') ON CONFLICT (id) DO NOTHING")).codes).toEqual([]);
    expect(await rows()).toEqual([{ id: 1, v: 'kept' }, { id: 2, v: 'added' }]);
  });
});
