/**
 * The Postgres wire listener under attack through COPY's options and the
 * settings an allowed SET may change, by a client holding only an agent's key:
 * a COPY FROM STDIN whose ENCODING makes the database read other rows than the
 * UTF-8 preview shows, a COPY (query) TO STDOUT whose query runs what a rule
 * allowing `copy` never meant to allow, and a SET that lifts the time bound
 * or lets one statement take the server's memory.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { psql, requests } from '../support/pg-wire-clients.ts';
import { byTypePolicy } from '../support/sql-by-type.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
const WAIT = 60_000;
afterAll(() => db?.drop());

/** Reads by the parser's verdict; COPY, SET and transaction control by statement type alone. */
const POLICY = byTypePolicy(['copy', 'set', 'transaction']);

describe.skipIf(!db)('the Postgres wire listener under attack: COPY options and resource settings', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const rows = async (sql: string) => (await direct.query(sql)).rows;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, \'one\')');
    gw = await startTestGateway(POLICY, {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0, holdSeconds: 0 }',
      principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it("a COPY FROM STDIN whose ENCODING is not UTF-8 (the rows would load as other text than the preview shows): 42501, nothing loaded; UTF-8 in any spelling loads", async () => {
    // The bytes of 'é' in UTF-8 (c3 a9): the preview shows é, a LATIN1 COPY loads 'Ã©', an SJIS one 'ﾃｩ'.
    for (const [n, opts] of [
      [100, "(ENCODING 'LATIN1')"],
      [101, "(FORMAT csv, ENCODING 'sjis')"],
      [102, 'WITH ENCODING \'LATIN1\''],
      [103, '(ENCODING win1252)'],
      [104, "(ENCODING 'unicode')"],
    ] as const) {
      const r = await psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose'], [`\\copy t FROM stdin ${opts}`, `${n}${opts.includes('csv') ? ',' : '\t'}é`, '\\.', ''].join('\n'));
      expect({ opts, code: r.code, err: r.stderr }).toMatchObject({ opts, code: 3, err: expect.stringMatching(/ERROR: {2}42501: .*ENCODING/) });
    }
    expect(await rows('SELECT id FROM t WHERE id >= 100 ORDER BY id')).toEqual([]);
    const ok = await psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1'], ["\\copy t FROM stdin (ENCODING 'utf-8')", '110\té', '\\.', "\\copy t FROM stdin (ENCODING UTF8)", '111\té', '\\.', ''].join('\n'));
    expect(ok.stderr).toBe('');
    expect(await rows('SELECT id, note FROM t WHERE id >= 100 ORDER BY id')).toEqual([{ id: 110, note: 'é' }, { id: 111, note: 'é' }]);
  }, WAIT);

  it('a COPY (query) TO STDOUT is judged as its query too: a rule allowing copy by type does not run what the query calls; COPY of a table still runs', async () => {
    const victim = new pg.Client({ connectionString: db!.url, application_name: `cs_victim_${process.pid}` });
    victim.on('error', () => {});
    await victim.connect();
    try {
      const attack = `COPY (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cs_victim_${process.pid}') TO STDOUT`;
      const r = await psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1'], `${attack};\n`);
      expect(r.code).not.toBe(0);
      const seen = (await requests(gw)).filter((q) => q.action.input.sql.startsWith('COPY (SELECT pg_terminate_backend'));
      expect(seen.map((q) => q.status)).toEqual(['denied']);
      // The facts a reviewer and policy see list the query as a statement of its own.
      const facts = (await gw.as('alice', `/v1/requests/${seen[0]!.id}`)).body.facts.sql;
      expect(facts.statements.map((s: { type: string }) => s.type)).toEqual(['copy', 'select']);
      expect((await victim.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await victim.end().catch(() => {});
    }
    const table = await psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1'], 'COPY t (id) TO STDOUT;\n');
    expect(table.stderr).toBe('');
    expect(table.stdout.split('\n')).toContain('1');
  }, WAIT);

  it("the gateway's time bound cannot be lifted (SET, SET LOCAL, RESET, set_config, temp_file_limit); memory settings over 1GB are refused: 42501, the session keeps its bound", async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['deploy-bot'], database: 'app-db', ssl: false, options: '-c statement_timeout=0 -c work_mem=2000GB' });
    await c.connect();
    // 42501 from the settings check (before policy: `the SQL changes …`), not from a policy that allows no such SELECT.
    const code = (sql: string) => c.query(sql).then(() => 'ok', (e: { code?: string; message?: string }) => (/^the SQL changes/.test(e.message ?? '') ? e.code : `${e.code} ${e.message}`));
    try {
      for (const sql of [
        'SET statement_timeout = 0',
        'SET SESSION statement_timeout TO DEFAULT',
        'RESET statement_timeout',
        "SELECT set_config('statement_timeout', '0', false)",
        'SET temp_file_limit = -1',
        'SET idle_in_transaction_session_timeout = 0',
        "SET work_mem = '100TB'",
        "SET work_mem = '2000GB'",
        'SET work_mem = 2147483647',
        "SET work_mem = '0x7fffffff'",
        "SET maintenance_work_mem = '2TB'",
        "SET temp_buffers = '1TB'",
        "SELECT set_config('work_mem', '2000GB', false)",
        "SELECT set_config('work_mem', repeat('9', 9), false)",
      ]) {
        expect({ sql, code: await code(sql) }).toEqual({ sql, code: '42501' });
      }
      expect(await code('BEGIN')).toBe('ok');
      expect(await code('SET LOCAL statement_timeout = 0')).toBe('42501');
      expect(await code('ROLLBACK')).toBe('ok');
      for (const sql of ["SET work_mem = '64MB'", "SET maintenance_work_mem = '1GB'", 'SET work_mem = 4096', 'SET work_mem TO DEFAULT']) {
        expect({ sql, code: await code(sql) }).toEqual({ sql, code: 'ok' });
      }
      const shown = await c.query(
        "SELECT current_setting('statement_timeout') <> '0' AS bounded, pg_size_bytes(current_setting('work_mem')) <= 1073741824 AS capped",
      );
      expect(shown.rows).toEqual([{ bounded: true, capped: true }]);
    } finally {
      await c.end();
    }
  }, WAIT);
});
