/**
 * The Postgres wire listener under attack through the session's settings: how
 * the server reads text (client_encoding, standard_conforming_strings), where
 * names resolve (search_path), who runs a statement (role) and whether
 * triggers fire (session_replication_role). The gateway pins them on the
 * upstream session; a client holding only an agent's key tries to change them
 * by every door it has: SQL, `pg_settings` (whose update rule calls
 * set_config), and its own startup packet.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** Reads and updates allowed outright (but not of the secrets table), SET of what an action may change too. */
const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: no-secrets
      when: facts.sql.tables.exists(t, t == "secrets")
      effect: deny
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
    - id: settings
      when: facts.sql.statements.all(s, s.type == "set")
      effect: allow
    - id: updates
      when: facts.sql.statements.all(s, s.type in ["select", "update"])
      effect: allow
`;

/** What the session reads text, names and triggers by. */
const SHOWN = `SELECT pg_catalog.current_setting('client_encoding') AS e, pg_catalog.current_setting('standard_conforming_strings') AS s,
  pg_catalog.current_setting('search_path') AS p, pg_catalog.current_setting('session_replication_role') AS r,
  pg_catalog.current_setting('statement_timeout') <> '0' AS bounded, current_user = session_user AS same`;
const PINNED = [['UTF8', 'on', '"$user", public', 'origin', 't', 't']];

describe.skipIf(!db)('the Postgres wire listener under attack: the settings the gateway pins', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');
      CREATE TABLE changes (note text);
      CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes VALUES (NEW.note); RETURN NEW; END $$;
      CREATE TRIGGER logged AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION log_change();
      CREATE ROLE cs_settings_nobody_${process.pid} NOLOGIN;`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.query(`DROP ROLE IF EXISTS cs_settings_nobody_${process.pid}`);
    await direct?.end();
  });

  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };

  it("an update of pg_settings is SET by another name (its rule calls set_config): 42501 whatever the policy says, and nothing changed", async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        "UPDATE pg_settings SET setting = 'replica' WHERE name = 'session_replication_role'",
        "UPDATE pg_catalog.pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
        "UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'",
        "UPDATE pg_settings SET setting = 'pg_temp, public' WHERE name = 'search_path'",
        "UPDATE pg_settings SET setting = '0' WHERE name = 'statement_timeout'",
        `UPDATE pg_settings SET setting = 'cs_settings_nobody_${process.pid}' WHERE name = 'role'`,
        "WITH u AS (UPDATE pg_settings SET setting = 'replica' WHERE name = 'session_replication_role' RETURNING name) SELECT count(*) FROM u",
        "UPDATE t SET note = note WHERE id = 0; UPDATE pg_settings SET setting = 'replica' WHERE name = 'session_replication_role'",
      ]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: ['42501'] });
      }
      const shown = await send(c, SHOWN);
      expect(errors(shown)).toEqual([]);
      expect(rowsOf(shown)).toEqual(PINNED);
      // The write policy allows still fires the table's trigger (session_replication_role = replica would skip it).
      expect(errors(await send(c, "UPDATE t SET note = 'two' WHERE id = 1"))).toEqual([]);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT note FROM changes')).rows).toEqual([{ note: 'two' }]);
  });

  it('SET, RESET and set_config() of how text parses: 42501, the session goes on reading text as the gateway does', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        "SET client_encoding = 'SJIS'",
        "SET NAMES 'BIG5'",
        'RESET client_encoding',
        'SET standard_conforming_strings = off',
        'RESET standard_conforming_strings',
        'SET backslash_quote = on',
        'SET escape_string_warning = off',
        "SELECT set_config('client_encoding', 'GBK', false)",
        "SELECT pg_catalog.set_config(setting_name => 'standard_conforming_strings', new_value => 'off', is_local => false)",
      ]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: ['42501'] });
      }
      expect(errors(await send(c, 'BEGIN'))).toEqual([]);
      expect(errors(await send(c, 'SET LOCAL standard_conforming_strings = off'))).toEqual(['42501']);
      expect(errors(await send(c, 'ROLLBACK'))).toEqual([]);
      expect(rowsOf(await send(c, SHOWN))).toEqual(PINNED);
    } finally {
      c.end();
    }
  });

  it("a startup packet's parameters (options, client_encoding, search_path, replication, protocol options) never reach the database's session; an unknown protocol version or option is negotiated down", async () => {
    const params: Record<string, string> = {
      user: 'deploy-bot',
      database: 'app-db',
      client_encoding: 'SJIS',
      options: '-c standard_conforming_strings=off -c search_path=pg_temp,public -c session_replication_role=replica -c statement_timeout=0',
      standard_conforming_strings: 'off',
      search_path: 'pg_temp, public',
      session_replication_role: 'replica',
      role: `cs_settings_nobody_${process.pid}`,
      replication: 'database',
      '_pq_.unknown_option': 'on',
    };
    // Protocol 3.9, newer than any there is: the gateway says which it speaks (3.2) and that it knows no `_pq_.` option.
    const body = Buffer.concat([Buffer.from([0, 3, 0, 9]), ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)), Buffer.from([0])]);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length + 4);
    const socket = connect({ port: gw.postgresPort!, host: '127.0.0.1' });
    socket.on('error', () => {});
    const got: Msg[] = [];
    const parser = new Parser();
    let wake: () => void = () => {};
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => (received.push(d), parser.parse(d, (m) => (got.push(m as Msg), wake()))));
    const until = async (name: string) => {
      while (!got.some((m) => m.name === name)) await new Promise<void>((r) => (wake = r));
      return got.splice(0, got.findIndex((m) => m.name === name) + 1);
    };
    try {
      socket.write(Buffer.concat([length, body]));
      await until('authenticationCleartextPassword');
      const option = Buffer.from('_pq_.unknown_option\0');
      const negotiated = Buffer.alloc(13);
      negotiated.write('v');
      negotiated.writeInt32BE(12 + option.length, 1);
      negotiated.writeInt32BE(2, 5);
      negotiated.writeInt32BE(1, 9);
      expect(Buffer.concat(received).subarray(0, 13 + option.length)).toEqual(Buffer.concat([negotiated, option]));
      socket.write(serialize.password(gw.keys['deploy-bot']!));
      const opened = await until('readyForQuery');
      const status = Object.fromEntries(opened.filter((m) => m.name === 'parameterStatus').map((m) => [(m as unknown as { parameterName: string }).parameterName, (m as unknown as { parameterValue: string }).parameterValue]));
      expect(status).toMatchObject({ client_encoding: 'UTF8', standard_conforming_strings: 'on' });
      socket.write(serialize.query(SHOWN));
      const shown = await until('readyForQuery');
      expect(errors(shown)).toEqual([]);
      expect(rowsOf(shown)).toEqual(PINNED);
    } finally {
      socket.end(serialize.end());
    }
  });
});
