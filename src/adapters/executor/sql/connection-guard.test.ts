/**
 * The upstream session reads SQL as the facts' parser did, names resolve to
 * the functions the facts named, and a run past its deadline is stopped on
 * the server (real PostgreSQL, throwaway database and roles).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../test/support/gateway.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresConnection } from './connection.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

/** Drops a throwaway role from the server's maintenance database, once its test database is gone. */
async function dropRole(dbUrl: string, role: string): Promise<void> {
  const u = new URL(dbUrl);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('the upstream session (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const role = `cs_role_${randomBytes(4).toString('hex')}`;
  const roleUrl = (() => {
    const u = new URL(url);
    u.username = role;
    u.password = '';
    return u.toString();
  })();
  let admin: pg.Client;
  const largeObjects = async () => Number((await admin.query<{ c: string }>('SELECT count(*) AS c FROM pg_largeobject_metadata')).rows[0]?.c);
  const rowCount = async () => Number((await admin.query<{ c: string }>('SELECT count(*) AS c FROM items')).rows[0]?.c);

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const dbName = new URL(url).pathname.slice(1);
    await admin.query(`CREATE TABLE items (id int PRIMARY KEY, name text);
      INSERT INTO items VALUES (1, 'a'), (2, 'b');
      CREATE ROLE ${role} LOGIN;
      GRANT ALL ON items TO ${role};
      GRANT CREATE ON SCHEMA public TO ${role};
      ALTER ROLE ${role} IN DATABASE ${dbName} SET standard_conforming_strings = off;
      ALTER ROLE ${role} IN DATABASE ${dbName} SET backslash_quote = on;
      ALTER ROLE ${role} IN DATABASE ${dbName} SET statement_timeout = 0;`);
  });

  afterAll(async () => {
    await admin?.end();
    await db?.drop();
    await dropRole(url, role);
  });

  it('reads a string as the parser did where the role turns standard_conforming_strings off', async () => {
    const conn = createPostgresConnection({ name: 'scs-off', url: roleUrl, tags: {} });
    try {
      const sql = "select 'x\\''; commit; begin read write; delete from items; commit; --'";
      const facts = deriveSqlFacts(sql);
      expect(facts).toMatchObject({ readOnly: true, statements: [{ type: 'select' }] });
      const r = await conn.execute({ sql }, { readOnly: facts.readOnly });
      expect(r.ok).toBe(true);
      expect(r.output).toEqual({
        results: [{ command: 'SELECT', rowCount: 1, fields: ['?column?'], rows: [["x\\'; commit; begin read write; delete from items; commit; --"]] }],
      });
      expect(await rowCount()).toBe(2);
      const shown = await conn.execute({ sql: 'SHOW standard_conforming_strings' }, { readOnly: true });
      expect(shown.output).toMatchObject({ results: [{ rows: [['on']] }] });
    } finally {
      await conn.close();
    }
  });

  it('keeps the pinned settings when the URL asks for others', async () => {
    const u = new URL(url);
    u.searchParams.set('options', '-c standard_conforming_strings=off -c backslash_quote=on');
    u.searchParams.set('client_encoding', 'SJIS');
    const conn = createPostgresConnection({ name: 'url-options', url: u.toString(), tags: {} });
    try {
      const sql = "select 'x\\''; delete from items; --'";
      const r = await conn.execute({ sql }, { readOnly: false });
      expect(r.output).toMatchObject({ results: [{ command: 'SELECT', rows: [["x\\'; delete from items; --"]] }] });
      expect(await rowCount()).toBe(2);
      const shown = await conn.execute({ sql: "SELECT current_setting('client_encoding'), current_setting('backslash_quote')" }, { readOnly: true });
      expect(shown.output).toMatchObject({ results: [{ rows: [['UTF8', 'safe_encoding']] }] });
    } finally {
      await conn.close();
    }
  });

  it('refuses to run a call whose name another schema on the search_path also holds', async () => {
    await admin.query(`CREATE FUNCTION public.lower(int) RETURNS text LANGUAGE sql AS $$ SELECT lo_from_bytea(0, 'x')::text $$`);
    const conn = createPostgresConnection({ name: 'shadow', url, tags: {} });
    try {
      const before = await largeObjects();
      const sql = 'SELECT lower(1)';
      expect(deriveSqlFacts(sql)).toMatchObject({ readOnly: true, functions: ['pg_catalog.lower'] });
      const r = await conn.execute({ sql }, { readOnly: true });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('SQL_SESSION_UNSAFE');
      expect(r.error?.message).toContain('function public.lower');
      expect(await largeObjects()).toBe(before);
      // Schema-qualified, the built-in runs.
      const ok = await conn.execute({ sql: "SELECT pg_catalog.lower('AB')" }, { readOnly: true });
      expect(ok.output).toMatchObject({ results: [{ rows: [['ab']] }] });
    } finally {
      await conn.close();
      await admin.query('DROP FUNCTION public.lower(int)');
    }
  });

  it('refuses attribute notation and casts that would run a function of another schema in a read-only run', async () => {
    await admin.query(`CREATE FUNCTION public.blob(items) RETURNS oid LANGUAGE sql AS $$ SELECT lo_from_bytea(0, 'x') $$;
      CREATE DOMAIN public.checked AS int CHECK (lo_from_bytea(0, 'x') > 0);`);
    const conn = createPostgresConnection({ name: 'attr', url, tags: {} });
    try {
      const before = await largeObjects();
      for (const sql of ['SELECT i.blob FROM items i', 'SELECT (i).blob FROM items i', 'SELECT 1::checked']) {
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await conn.execute({ sql }, { readOnly: true });
        expect(r.error?.code).toBe('SQL_SESSION_UNSAFE');
      }
      expect(await largeObjects()).toBe(before);
    } finally {
      await conn.close();
      await admin.query('DROP FUNCTION public.blob(items); DROP DOMAIN public.checked');
    }
  });

  it('refuses an operator a database user put on the search_path, but not one an extension installed', async () => {
    await admin.query(`CREATE EXTENSION citext;
      CREATE FUNCTION public.concat_blob(text, text) RETURNS oid LANGUAGE sql AS $$ SELECT lo_from_bytea(0, 'x') $$;
      CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.concat_blob);`);
    const conn = createPostgresConnection({ name: 'ops', url, tags: {} });
    try {
      const before = await largeObjects();
      const sneaky = await conn.execute({ sql: "SELECT 'a'::text + 'b'::text" }, { readOnly: true });
      expect(sneaky.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
      expect(sneaky.error?.message).toContain('operator public.+');
      expect(await largeObjects()).toBe(before);
      const ext = await conn.execute({ sql: "SELECT 'Ab'::citext = 'aB'::citext AS same" }, { readOnly: true });
      expect(ext.output).toMatchObject({ results: [{ rows: [[true]] }] });
    } finally {
      await conn.close();
      await admin.query('DROP OPERATOR public.+ (text, text); DROP FUNCTION public.concat_blob(text, text); DROP EXTENSION citext');
    }
  });

  it("refuses a read whose table's index calls a function of a user the planner folds; runs it once the function is in readOnlyFunctions", async () => {
    await admin.query(`CREATE FUNCTION public.ix_fn(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x $$;
      CREATE TABLE indexed (id int); INSERT INTO indexed VALUES (1); CREATE INDEX ON indexed ((id + public.ix_fn(0)));
      CREATE OR REPLACE FUNCTION public.ix_fn(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RAISE EXCEPTION 'ix_fn ran'; END $$;`);
    const conn = createPostgresConnection({ name: 'planned', url, tags: {} });
    const trusted = createPostgresConnection({ name: 'planned-trusted', url, tags: {}, readOnlyFunctions: ['public.ix_fn'] });
    try {
      const r = await conn.execute({ sql: 'SELECT count(*) FROM indexed' }, { readOnly: true });
      expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
      expect(r.error?.message).toContain('function public.ix_fn');
      // Allowed by the operator, it runs (and here raises, which shows the planner does call it).
      const t = await trusted.execute({ sql: 'SELECT count(*) FROM indexed' }, { readOnly: true });
      expect(t.error?.message).toContain('ix_fn ran');
    } finally {
      await conn.close();
      await trusted.close();
      await admin.query('DROP TABLE indexed; DROP FUNCTION public.ix_fn(int)');
    }
  });

  it('cancels on the server a run that switched its own timeout off, and the pool keeps serving', async () => {
    await admin.query(`CREATE FUNCTION public.no_timeout() RETURNS text LANGUAGE sql AS $$ SELECT set_config('statement_timeout', '0', false) $$;
      GRANT EXECUTE ON FUNCTION public.no_timeout() TO ${role};`);
    const marker = `cs_sleep_${randomBytes(3).toString('hex')}`;
    const conn = createPostgresConnection({ name: 'slow', url: roleUrl, tags: {}, statementTimeoutMs: 1000, poolSize: 2 });
    try {
      const sql = `SELECT public.no_timeout(); SELECT pg_sleep(120), '${marker}'`;
      const runs = await Promise.all([1, 2, 3].map(() => conn.execute({ sql }, { readOnly: false })));
      for (const r of runs) {
        expect(r.ok).toBe(false);
        expect(r.error?.message).toContain('was cancelled');
      }
      await eventually(async () => {
        const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND state = 'active' AND pid <> pg_backend_pid()`, [
          marker,
        ]);
        return rows.length === 0 ? true : undefined;
      }, 10_000);
      const ok = await conn.execute({ sql: 'SELECT count(*)::int FROM items' }, { readOnly: true });
      expect(ok.output).toMatchObject({ results: [{ rows: [[2]] }] });
    } finally {
      await conn.close();
      await admin.query('DROP FUNCTION public.no_timeout()');
    }
  });
});
