/**
 * Statements a rule allowing creates or alters by statement type matched, though they reach past the database's own
 * schema objects. With a superuser gateway role (as tests run):
 *
 * - CREATE FUNCTION … LANGUAGE c binds any C function of a library the server has: adminpack's pg_file_write without
 *   CREATE EXTENSION (an `extension`), and `CREATE TABLE … AS SELECT fw('/path', …)` (another create) wrote a
 *   server file; dblink's dblink_exec would reach any server. A function in an untrusted language (c, internal,
 *   plpython3u, …) and what registers C code (CREATE LANGUAGE, TRANSFORM, ACCESS METHOD, a base type, a text search
 *   parser or template) are now `untrusted_code`.
 * - CREATE FOREIGN TABLE on the operator's file_fdw server runs a program or reads a server file, and one on a
 *   postgres_fdw server reads another server through the operator's user mapping: the foreign data family (wrappers,
 *   servers, user mappings, foreign tables, IMPORT FOREIGN SCHEMA) is now `foreign_data`.
 * - CREATE PUBLICATION … FOR ALL TABLES publishes every table, none named (a denied one too): now `publication`;
 *   tablespaces (a directory of the server's, and ALTER TABLE ALL IN TABLESPACE moves every table in one) `tablespace`.
 * - CREATE CAST (int4 AS text) WITH FUNCTION public.leak(int4) AS ASSIGNMENT: pg_cast has no schema, so every
 *   session's INSERT of a number into a text column ran the agent's function; a cast between two of the server's
 *   types is now a `catalog` too (server-objects.ts).
 * - ALTER DATABASE other ALLOW_CONNECTIONS false, or RENAME, locked every client of another database on the server out
 *   under a rule allowing alters, and DROP DATABASE (which can only name another database) dropped one under a rule
 *   allowing drops: CREATE, ALTER and DROP of a database are now `database`.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
const other = await createTestDatabase();
afterAll(() => db?.drop());
afterAll(() => other?.drop());

describe.skipIf(!db)('statements reaching past the database need a type of their own, not create or alter', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  let dir: string;
  const types = async (sql: string) => {
    const r = await gw.as('deploy-bot', '/v1/policy/simulate', { body: { connection: 'app-db', input: { sql } } });
    return [r.status, r.body.effect, r.body.facts?.sql?.statements?.map((s: { type: string }) => s.type)];
  };

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    // The server's OS user must be able to write the mark, or a command that ran would leave none.
    dir = mkdtempSync(join(tmpdir(), 'cs-untrusted-'));
    chmodSync(dir, 0o777);
    gw = await startTestGateway(byTypePolicy(['select', 'create', 'alter']), { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("adminpack's file writer bound as a C function, over REST and the wire listener: refused, so the create calling it writes no file", async () => {
    const mark = join(dir, 'c-ran');
    const fw = (name: string) => `CREATE FUNCTION public.${name}(text, text, bool) RETURNS bigint LANGUAGE c STRICT AS '$libdir/adminpack', 'pg_file_write_v1_1'`;
    expect((await sqlAction(gw, fw('fw'))).status).toBe(403);
    expect((await queryOnce(gw, fw('fw2'))).codes).toEqual(['42501']);
    expect((await queryOnce(gw, "CREATE FUNCTION public.rf(text) RETURNS text LANGUAGE internal STRICT AS 'pg_read_file_off_len'")).codes).toEqual(['42501']);
    const made = await direct.query("SELECT to_regproc('public.fw') AS a, to_regproc('public.fw2') AS b, to_regproc('public.rf') AS c");
    expect(made.rows[0]).toEqual({ a: null, b: null, c: null });
    // What it was for: a create, allowed by type, calling it.
    await sqlAction(gw, `CREATE TABLE pwn AS SELECT public.fw('${mark}', 'x', false) AS n`);
    expect(existsSync(mark)).toBe(false);
    // A function in SQL or PL/pgSQL is still a create.
    expect((await sqlAction(gw, 'CREATE FUNCTION public.one() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$')).status).toBe(200);
  });

  it("a foreign table on the operator's file_fdw server, over REST and the wire listener: refused, so no program runs", async () => {
    const mark = join(dir, 'fdw-ran');
    await direct.query('CREATE EXTENSION file_fdw; CREATE SERVER files FOREIGN DATA WRAPPER file_fdw');
    expect((await sqlAction(gw, `CREATE FOREIGN TABLE ff (x text) SERVER files OPTIONS (program 'touch ${mark}; echo x')`)).status).toBe(403);
    expect((await queryOnce(gw, "CREATE FOREIGN TABLE ff2 (x text) SERVER files OPTIONS (filename 'postgresql.auto.conf')")).codes).toEqual(['42501']);
    expect((await direct.query("SELECT to_regclass('public.ff') AS a, to_regclass('public.ff2') AS b")).rows[0]).toEqual({ a: null, b: null });
    await sqlAction(gw, 'CREATE TABLE copied AS SELECT x FROM ff');
    expect(existsSync(mark)).toBe(false);
    // An operator's foreign table pointed elsewhere by an alter is the same reach.
    await direct.query("CREATE FOREIGN TABLE ops_ff (x text) SERVER files OPTIONS (filename '/dev/null')");
    expect((await sqlAction(gw, "ALTER FOREIGN TABLE ops_ff OPTIONS (SET filename 'postgresql.auto.conf')")).status).toBe(403);
    expect((await queryOnce(gw, `ALTER TABLE ops_ff OPTIONS (DROP filename, ADD program 'touch ${mark}')`)).codes).toEqual(['42501']);
    const opts = await direct.query<{ o: string[] }>("SELECT ftoptions AS o FROM pg_foreign_table WHERE ftrelid = 'public.ops_ff'::regclass");
    expect(opts.rows[0]!.o).toEqual(['filename=/dev/null']);
    for (const sql of ["CREATE SERVER elsewhere FOREIGN DATA WRAPPER file_fdw", "CREATE USER MAPPING FOR CURRENT_USER SERVER files OPTIONS (user 'u')", 'IMPORT FOREIGN SCHEMA public FROM SERVER files INTO public']) {
      expect(await types(sql), sql).toEqual([200, 'deny', ['foreign_data']]);
    }
  });

  it("a cast between two of the server's types, over REST and the wire listener: refused, so another session's insert runs nothing of the agent's", async () => {
    // pg_cast has no schema: an assignment cast int4 -> text by the agent's function ran on every session's INSERT of a number into a text column.
    await direct.query("CREATE TABLE notes (body text); CREATE FUNCTION public.leak(int4) RETURNS text LANGUAGE sql AS $$ SELECT pg_catalog.lo_from_bytea(0, '\\x00'::bytea)::text $$");
    expect((await sqlAction(gw, 'CREATE CAST (int4 AS text) WITH FUNCTION public.leak(int4) AS ASSIGNMENT')).status).toBe(403);
    expect((await queryOnce(gw, 'CREATE CAST (pg_catalog.int4 AS pg_catalog.text) WITH FUNCTION public.leak(int4) AS ASSIGNMENT')).codes).toEqual(['42501']);
    await direct.query('INSERT INTO notes VALUES (42)');
    expect((await direct.query('SELECT body FROM notes')).rows).toEqual([{ body: '42' }]);
    expect((await direct.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]).toEqual({ n: 0 });
    // A cast of the agent's own type, written with its schema, is still a create.
    await direct.query("CREATE TYPE public.mood AS ENUM ('ok'); CREATE FUNCTION public.mood_int(public.mood) RETURNS int LANGUAGE sql AS 'SELECT 1'");
    expect((await sqlAction(gw, 'CREATE CAST (public.mood AS int) WITH FUNCTION public.mood_int(public.mood)')).status).toBe(200);
  });

  it("another database of the server, over REST and the wire listener: neither locked, renamed nor copied under a rule allowing alters and creates", async () => {
    const name = new URL(other!.url).pathname.slice(1);
    expect((await sqlAction(gw, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)).status).toBe(403);
    expect((await queryOnce(gw, `ALTER DATABASE ${name} RENAME TO ${name}_gone`)).codes).toEqual(['42501']);
    expect((await sqlAction(gw, `CREATE DATABASE ${name}_copy TEMPLATE ${name}`)).status).toBe(403);
    const seen = await direct.query('SELECT datname, datallowconn FROM pg_database WHERE datname LIKE $1 ORDER BY 1', [`${name}%`]);
    expect(seen.rows).toEqual([{ datname: name, datallowconn: true }]);
    expect(await types(`DROP DATABASE ${name}`)).toEqual([200, 'deny', ['database']]);
  });

  it('a publication of every table, a language, an access method, a tablespace: denied by default, each of its own type', async () => {
    expect((await sqlAction(gw, 'CREATE PUBLICATION everything FOR ALL TABLES')).status).toBe(403);
    expect((await direct.query('SELECT count(*)::int AS n FROM pg_publication')).rows[0]).toEqual({ n: 0 });
    expect(await types('CREATE LANGUAGE plsh HANDLER public.plsh_handler')).toEqual([200, 'deny', ['untrusted_code']]);
    expect(await types('CREATE ACCESS METHOD evil TYPE TABLE HANDLER heap_tableam_handler')).toEqual([200, 'deny', ['untrusted_code']]);
    expect(await types("CREATE TABLESPACE elsewhere LOCATION '/var/lib/postgresql'")).toEqual([200, 'deny', ['tablespace']]);
    expect(await types('ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE elsewhere')).toEqual([200, 'deny', ['tablespace']]);
    // A plain create is still allowed by the rule.
    expect(await types('CREATE TABLE plain (id int)')).toEqual([200, 'allow', ['create']]);
  });
});
