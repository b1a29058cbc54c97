/**
 * The Postgres wire listener: a read that names only a view of the server's
 * own (pg_catalog, information_schema) still runs what that view calls and
 * reads what it reads. The server records no dependency on its own objects,
 * so the session check finds them in the views' stored trees. A view that
 * calls a function off the allow-list (a server file read, another session's
 * SQL text) is refused as a user's view calling it is, through views of views
 * too, and so is an extension's view calling one; and the statistics
 * catalogs, which hold values of every table's columns, are not read around a
 * policy that denies a table by name.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** A role of this run with a password (roles are cluster-wide): its SCRAM verifier is in pg_authid.rolpassword. */
const role = `cs_cred_${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  await db?.drop();
});

/** Sends one query; asserts it was refused with `code` and returned no row. */
async function refused(c: Raw, sql: string, code: string): Promise<Msg[]> {
  c.send(serialize.query(sql));
  const answer: Msg[] = await c.until('readyForQuery');
  expect(rowsOf(answer), sql).toEqual([]);
  expect(errors(answer), sql).toEqual([code]);
  return answer;
}

/** Sends one query; asserts it ran without an error and returned one row. */
async function readsOne(c: Raw, sql: string): Promise<Msg[]> {
  c.send(serialize.query(sql));
  const answer: Msg[] = await c.until('readyForQuery');
  expect(errors(answer), sql).toEqual([]);
  expect(rowsOf(answer).length, sql).toBe(1);
  return answer;
}

/** Reads that run an off-list function or read another table's values through the server's views, and what the refusal names. */
const REFUSED: { what: string; sql: string; names: string }[] = [
  { what: 'pg_hba_file_rules (reads pg_hba.conf)', sql: 'SELECT count(*) FROM pg_hba_file_rules', names: 'pg_catalog.pg_hba_file_rules' },
  { what: 'pg_file_settings (reads postgresql.conf)', sql: 'SELECT sourcefile FROM pg_catalog.pg_file_settings', names: 'pg_catalog.pg_show_all_file_settings' },
  { what: "pg_stat_activity (other sessions' SQL; its query column is refused whatever the rule)", sql: 'SELECT pid FROM pg_stat_activity', names: 'pg_catalog.pg_stat_get_activity' },
  { what: 'a view of a view (pg_stat_user_tables over pg_stat_all_tables)', sql: 'SELECT relname FROM pg_stat_user_tables', names: 'pg_catalog.pg_stat_get_' },
  { what: "a database user's view of pg_stat_activity", sql: 'SELECT * FROM activity', names: 'pg_stat_activity.query (through activity)' },
  { what: 'pg_stats (the most common values of secrets)', sql: "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'secrets'", names: 'pg_catalog.pg_statistic' },
  { what: 'pg_statistic itself', sql: 'SELECT stavalues1::text FROM pg_catalog.pg_statistic', names: 'pg_catalog.pg_statistic' },
  { what: "a database user's view of pg_stats", sql: 'SELECT * FROM common', names: 'pg_catalog.pg_statistic' },
  { what: "an extension's view (pg_stat_statements: every session's SQL)", sql: 'SELECT calls FROM pg_stat_statements', names: 'public.pg_stat_statements' },
  { what: "an extension's view (pg_buffercache: what every session reads)", sql: 'SELECT count(*) FROM pg_buffercache', names: 'public.pg_buffercache_pages' },
];

/**
 * Reads of the catalogs that hold credentials, which a superuser (or the owner of a user mapping) upstream role can
 * read: every role's password verifier, user mappings' options (a remote password), subscriptions' connection strings.
 */
const CREDENTIALS: { what: string; sql: string; names: string }[] = [
  { what: 'pg_authid (password verifiers)', sql: `SELECT rolname, rolpassword FROM pg_catalog.pg_authid WHERE rolname = '${role}'`, names: 'pg_catalog.pg_authid' },
  { what: 'pg_authid, unqualified, as TABLE', sql: 'TABLE pg_authid', names: 'pg_catalog.pg_authid' },
  { what: 'pg_authid in a subquery', sql: `SELECT (SELECT rolpassword FROM pg_authid WHERE rolname = '${role}') AS p`, names: 'pg_catalog.pg_authid' },
  { what: 'pg_shadow (a view of pg_authid)', sql: `SELECT passwd FROM pg_shadow WHERE usename = '${role}'`, names: 'pg_catalog.pg_authid' },
  { what: 'pg_user_mappings (options with a password)', sql: 'SELECT umoptions::text FROM pg_user_mappings', names: 'pg_catalog.pg_user_mapping' },
  { what: 'pg_user_mapping itself', sql: 'SELECT umoptions::text FROM pg_catalog.pg_user_mapping', names: 'pg_catalog.pg_user_mapping' },
  { what: 'information_schema.user_mapping_options', sql: 'SELECT option_value FROM information_schema.user_mapping_options', names: 'pg_catalog.pg_user_mapping' },
  { what: 'pg_subscription (connection strings)', sql: 'SELECT subconninfo FROM pg_subscription', names: 'pg_catalog.pg_subscription' },
  { what: "a database user's view of pg_authid", sql: 'SELECT * FROM creds', names: 'pg_catalog.pg_authid' },
  { what: "a database user's view of pg_user_mappings", sql: 'SELECT * FROM fdw_creds', names: 'pg_catalog.pg_user_mapping' },
];

describe.skipIf(!db)("the Postgres wire listener: a read of the server's own views runs nothing off the allow-list", () => {
  let gw: TestGateway;
  let direct: pg.Client;
  /** The TOAST table of secrets, which holds its long values under a name no rule on `secrets` matches. */
  let toast = '';

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE secrets (s text); INSERT INTO secrets SELECT 'hunter2' FROM generate_series(1, 50); ANALYZE secrets;
      CREATE VIEW activity AS SELECT query FROM pg_stat_activity; CREATE VIEW common AS SELECT most_common_vals::text AS v FROM pg_stats;
      CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_buffercache;
      CREATE ROLE ${role} LOGIN PASSWORD 'hunter2-role';
      CREATE FOREIGN DATA WRAPPER cs_fdw; CREATE SERVER cs_srv FOREIGN DATA WRAPPER cs_fdw;
      CREATE USER MAPPING FOR CURRENT_USER SERVER cs_srv OPTIONS (user 'remote', password 'hunter2-fdw');
      CREATE VIEW creds AS SELECT rolname, rolpassword FROM pg_catalog.pg_authid;
      CREATE VIEW fdw_creds AS SELECT umoptions::text AS o FROM pg_catalog.pg_user_mappings;
      CREATE VIEW people AS SELECT rolname FROM pg_catalog.pg_roles;
      CREATE VIEW conninfo AS SELECT current_setting('primary_conninfo') AS c;
      ALTER TABLE secrets ALTER s SET STORAGE EXTERNAL; INSERT INTO secrets VALUES (repeat('hunter2-toast ', 400))`);
    toast = (await direct.query<{ t: string }>("SELECT reltoastrelid::regclass::text AS t FROM pg_class WHERE oid = 'secrets'::regclass")).rows[0]!.t;
    expect(toast).toMatch(/^pg_toast\.pg_toast_\d+$/);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.query(`DROP ROLE IF EXISTS ${role}`);
    await direct?.end();
  });

  for (const { what, sql, names } of REFUSED) {
    it(`${what}: refused (55000), nothing read`, async () => {
      const c = await Raw.open(gw);
      try {
        const answer = await refused(c, sql, '55000');
        expect(answer.find((m) => m.name === 'error')?.message).toContain(names);
      } finally {
        c.end();
      }
    });
  }

  for (const { what, sql, names } of CREDENTIALS) {
    it(`${what}: refused (55000), no credential read`, async () => {
      const c = await Raw.open(gw);
      try {
        const answer = await refused(c, sql, '55000');
        const message = answer.find((m) => m.name === 'error')?.message ?? '';
        expect(message).toContain(names);
        expect(message).toContain('credentials');
        expect(JSON.stringify(answer)).not.toMatch(/hunter2|SCRAM-SHA-256\$/);
      } finally {
        c.end();
      }
    });
  }

  it("a read of a table's TOAST table (its long values, under another name): refused (55000), nothing read", async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [`SELECT convert_from(chunk_data, 'UTF8') FROM ${toast}`, `SELECT count(*) FROM ${toast}`]) {
        const answer = await refused(c, sql, '55000');
        expect(answer.find((m) => m.name === 'error')?.message, sql).toContain(toast);
      }
    } finally {
      c.end();
    }
  });

  // A standby's primary_conninfo holds the replication password; the archive and recovery commands and the TLS key's
  // passphrase command may hold a credential too. A superuser upstream role reads them all.
  it('settings that may hold a credential are not read under a read rule: SHOW, SHOW ALL, current_setting(), a view calling it', async () => {
    const c = await Raw.open(gw);
    try {
      for (const [sql, code] of [
        ['SHOW primary_conninfo', '42501'],
        ['SHOW ssl_passphrase_command', '42501'],
        ['SHOW ALL', '42501'],
        ["SELECT current_setting('PRIMARY_CONNINFO')", '42501'],
        ["SELECT pg_catalog.current_setting('archive_command', true)", '42501'],
        ["SELECT current_setting('restore_' || 'command')", '42501'],
        ['SELECT * FROM conninfo', '55000'],
      ] as const) {
        await refused(c, sql, code);
      }
      // Other settings still read.
      for (const sql of ['SHOW TimeZone', "SELECT current_setting('DateStyle')", "SELECT current_setting('server_version_num', true)"]) {
        await readsOne(c, sql);
      }
    } finally {
      c.end();
    }
  });

  it('views of the server that show no credential are still read over the credential catalogs: pg_roles, pg_user, pg_group, privileges', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        `SELECT rolpassword FROM pg_roles WHERE rolname = '${role}'`,
        `SELECT passwd FROM pg_user WHERE usename = '${role}'`,
        'SELECT count(*) FROM pg_group',
        `SELECT * FROM people WHERE rolname = '${role}'`,
        "SELECT count(*) FROM information_schema.table_privileges WHERE table_name = 'secrets'",
        'SELECT count(*) FROM information_schema.enabled_roles',
        'SELECT count(*) FROM information_schema.user_mappings',
      ]) {
        const answer = await readsOne(c, sql);
        expect(JSON.stringify(answer), sql).not.toMatch(/hunter2|SCRAM-SHA-256\$/);
      }
    } finally {
      c.end();
    }
  });

  it('views of the server that call only allowed functions are still read: information_schema, pg_tables, pg_roles, pg_indexes', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'secrets'",
        "SELECT count(*) FROM information_schema.routines WHERE routine_name = 'lower'",
        "SELECT tablename FROM pg_tables WHERE tablename = 'secrets'",
        'SELECT count(*) FROM pg_roles',
        'SELECT count(*) FROM pg_indexes',
      ]) {
        await readsOne(c, sql);
      }
    } finally {
      c.end();
    }
  });
});
