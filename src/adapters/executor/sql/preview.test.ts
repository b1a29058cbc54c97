import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewOutcome } from '../../../core/preview.ts';
import { createTestDatabase, waitingOnLatch } from '../../../../test/support/postgres.ts';
import { LATCH_KEYS } from './catalog-latch.ts';
import { createPostgresConnection } from './connection.ts';
import { loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('impact preview (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const conn = createPostgresConnection({ name: 'ledger', url, tags: {}, preview: { timeoutMs: 2000, lockTimeoutMs: 300 } });
  const slowLocks = createPostgresConnection({ name: 'ledger', url, tags: {}, preview: { timeoutMs: 20_000, lockTimeoutMs: 20_000 } });
  const off = createPostgresConnection({ name: 'ledger', url, tags: {}, preview: false });
  const admin = new pg.Client({ connectionString: url });

  const preview = (sql: string, params?: (string | number)[]): Promise<PreviewOutcome> => conn.preview!(params ? { sql, params } : { sql });
  /** The rows of accounts and the sequence, as one text: equal before and after means nothing was kept. */
  async function state(): Promise<string> {
    const r = await admin.query(`SELECT (SELECT string_agg(id || ':' || balance || ':' || coalesce(note, ''), ',' ORDER BY id) FROM accounts)
      || '|' || (SELECT last_value FROM ids) || '|' || (SELECT count(*) FROM side_effects) AS s`);
    return r.rows[0].s as string;
  }

  beforeAll(async () => {
    await loadSqlParser();
    await admin.connect();
    await admin.query(`
      CREATE SEQUENCE ids;
      CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, note text UNIQUE);
      INSERT INTO accounts SELECT g, g * 10, NULL FROM generate_series(1, 10) g;
      CREATE TABLE side_effects (at timestamptz DEFAULT now());
      CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $$ BEGIN INSERT INTO side_effects DEFAULT VALUES; RETURN 'x'; END $$;
      CREATE TABLE audited (id int PRIMARY KEY, n int);
      INSERT INTO audited VALUES (1, 1);
      CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('ids'); RETURN NEW; END $$;
      CREATE TRIGGER bump_ids BEFORE UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION public.bump();
      -- What an UPDATE or DELETE also runs without naming it: a cascade to a table with a trigger, a CHECK, a view.
      CREATE TABLE parents (id int PRIMARY KEY);
      INSERT INTO parents VALUES (1);
      CREATE TABLE children (id int PRIMARY KEY, parent int REFERENCES parents ON DELETE CASCADE);
      INSERT INTO children VALUES (1, 1);
      CREATE FUNCTION public.log_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO side_effects DEFAULT VALUES; RETURN OLD; END $$;
      CREATE TRIGGER log_delete AFTER DELETE ON children FOR EACH ROW EXECUTE FUNCTION public.log_delete();
      CREATE FUNCTION public.ok(int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('ids'); RETURN true; END $$;
      CREATE TABLE checked (id int PRIMARY KEY, n int CHECK (public.ok(n)));
      INSERT INTO checked VALUES (1, 1);
      CREATE TABLE sequenced_check (id int PRIMARY KEY, n int CHECK (nextval('ids') > 0));
      CREATE TABLE owners (id int PRIMARY KEY);
      INSERT INTO owners VALUES (1);
      CREATE TABLE pets (id int PRIMARY KEY, owner int DEFAULT nextval('ids') REFERENCES owners ON DELETE SET DEFAULT);
      CREATE VIEW account_view AS SELECT id, balance FROM accounts;
      -- A function on the search_path that wins over the built-in the facts name.
      CREATE FUNCTION public.abs(int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO side_effects DEFAULT VALUES; RETURN 1; END $$;
    `);
  });

  afterAll(async () => {
    await admin.end();
    await Promise.all([conn.close(), slowLocks.close(), off.close()]);
    await db?.drop();
  });

  it('counts the rows each UPDATE and DELETE would change, and keeps none of it', async () => {
    const before = await state();
    const p = await preview('UPDATE accounts SET balance = balance + 1 WHERE id <= 3; DELETE FROM accounts WHERE balance > 80');
    expect(p).toMatchObject({
      status: 'previewed',
      statements: [
        { command: 'UPDATE', table: 'accounts', rows: 3 },
        { command: 'DELETE', table: 'accounts', rows: 2 },
      ],
    });
    if (p.status !== 'previewed') return;
    expect(p.statements[0]?.plan).toMatch(/^Update on accounts → .*cost/);
    expect(await state()).toBe(before);
  });

  it('counts a statement with parameters', async () => {
    const p = await preview('DELETE FROM accounts WHERE id = ANY($1::int[])', ['{1,2,99}']);
    expect(p).toMatchObject({ status: 'previewed', statements: [{ command: 'DELETE', table: 'accounts', rows: 2 }] });
  });

  it('keeps nothing when the second statement breaks a constraint', async () => {
    const before = await state();
    const p = await preview(`UPDATE accounts SET balance = 0 WHERE id = 1; UPDATE accounts SET note = 'same' WHERE id IN (2, 3)`);
    expect(p).toMatchObject({ status: 'failed', sqlstate: '23505' });
    expect(await state()).toBe(before);
  });

  it('keeps no value the server quotes in a failed preview: a parameter, a key', async () => {
    // A parameter the reviewer may not read (a masked secret column), quoted back by the server's message.
    const cast = await preview('UPDATE accounts SET balance = $1::int WHERE id = 1', ['s3cret-value']);
    expect(cast).toMatchObject({ status: 'failed', sqlstate: '22P02' });
    expect(cast.status === 'failed' && cast.reason).toBe('invalid input syntax for type integer: "…"');
    await admin.query(`UPDATE accounts SET note = 'taken@example.com' WHERE id = 9`);
    const dup = await preview('UPDATE accounts SET note = $1 WHERE id = 1', ['taken@example.com']);
    expect(dup).toMatchObject({ status: 'failed', sqlstate: '23505' });
    expect(JSON.stringify(dup)).not.toContain('taken@example.com');
    expect(JSON.stringify(dup)).not.toContain('s3cret');
    expect(dup.status === 'failed' && dup.reason).toBe('duplicate key value violates unique constraint "…"');
    await admin.query('UPDATE accounts SET note = NULL WHERE id = 9');
  });

  it('gives up at the lock timeout when another session holds a row, and keeps nothing', async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN; SELECT * FROM accounts WHERE id = 5 FOR UPDATE');
      const before = await state();
      const p = await preview('UPDATE accounts SET balance = -1 WHERE id BETWEEN 1 AND 9');
      expect(p).toMatchObject({ status: 'failed', sqlstate: '55P03' });
      expect(p.status === 'failed' && p.reason).toMatch(/lock/);
      expect(await state()).toBe(before);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('keeps nothing when its connection is killed mid-statement', async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      // Row 10 is locked: the preview changes rows 1–9 (scanned first), then waits on 10.
      await holder.query('BEGIN; SELECT * FROM accounts WHERE id = 10 FOR UPDATE');
      const before = await state();
      const running = slowLocks.preview!({ sql: 'UPDATE accounts SET balance = -1 WHERE id >= 1' });
      let pid: number | undefined;
      // This database's backends only (other files' gateways run their own UPDATEs); until the preview waits on the
      // lock, however long a loaded machine takes it to connect and get there.
      const deadline = Date.now() + 20_000;
      while (pid === undefined && Date.now() < deadline) {
        const r = await admin.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'countersign' AND wait_event_type = 'Lock' AND query LIKE 'UPDATE accounts SET balance = -1%'`,
        );
        pid = r.rows[0]?.pid as number | undefined;
        if (pid === undefined) await new Promise((res) => setTimeout(res, 25));
      }
      expect(pid).toBeDefined();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const p = await running;
      expect(p.status).toBe('failed');
      await holder.query('ROLLBACK');
      expect(await state()).toBe(before);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  });

  it.each([
    ["UPDATE accounts SET balance = nextval('ids') WHERE id = 1", /calls pg_catalog\.nextval, which could act outside the transaction/],
    ['UPDATE accounts SET note = public.f() WHERE id = 1', /calls public\.f, which could act outside the transaction/],
    ['ALTER TABLE accounts ADD COLUMN x int', /ALTER is not previewed/],
    ['INSERT INTO accounts VALUES (99, 1)', /INSERT may advance a sequence/],
    ['UPDATE accounts SET balance = 1 WHERE id = 1; COMMIT', /transaction control/],
    ['UPDATE accounts SET note = DEFAULT WHERE id = 1', /DEFAULT/],
    ['WITH d AS (DELETE FROM accounts RETURNING id) UPDATE accounts SET balance = 0 WHERE id IN (SELECT id FROM d)', /nested DELETE/],
    ['UPDATE audited SET n = 2 WHERE id = 1', /trigger bump_ids on audited/],
    ['DELETE FROM parents WHERE id = 1', /trigger log_delete on children/],
    ['DELETE FROM owners WHERE id = 1', /foreign key pets_owner_fkey on pets \(SET DEFAULT\)/],
    ['UPDATE checked SET n = 2 WHERE id = 1', /function public\.ok \(through checked\)/],
    ['UPDATE sequenced_check SET n = 2 WHERE id = 1', /function pg_catalog\.nextval \(through sequenced_check\)/],
    ['UPDATE account_view SET balance = 0 WHERE id = 1', /account_view is a view/],
    ['UPDATE accounts SET balance = abs(balance) WHERE id = 1', /public\.abs/],
    ['UPDATE missing_table SET n = 1 WHERE id = 1', /missing_table/],
    ['DELETE FROM accounts WHERE id > 0 RETURNING *', /RETURNING/],
    // What no run reads, whatever rule allowed it, is not read before any approval either.
    ["UPDATE accounts SET balance = 1 WHERE current_setting('app.jwt_secret', true) LIKE 'a%'", /reads or calls app\.jwt_secret/],
  ])('does not run %s, and says why', async (sql, why) => {
    const before = await state();
    const p = await preview(sql);
    expect(p.status).toBe('skipped');
    expect(p.status === 'skipped' && p.reason).toMatch(why);
    expect(await state()).toBe(before);
  });

  it('checks the catalogs as the write will run, on a database whose transactions default to SERIALIZABLE', async () => {
    const u = new URL(url);
    u.searchParams.set('options', '-c default_transaction_isolation=serializable');
    const serial = createPostgresConnection({ name: 'ledger', url: u.toString(), tags: {}, preview: { timeoutMs: 20_000, lockTimeoutMs: 20_000 } });
    const ddl = new pg.Client({ connectionString: url });
    await ddl.connect();
    await admin.query('CREATE TABLE raced (id int PRIMARY KEY, n int); INSERT INTO raced VALUES (1, 1)');
    try {
      const before = await state();
      // A schema change through the gateway holds the latch until it commits: a trigger that advances the sequence.
      await ddl.query(`BEGIN; SELECT pg_advisory_xact_lock(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]});
        CREATE TRIGGER raced_bump BEFORE UPDATE ON raced FOR EACH ROW EXECUTE FUNCTION public.bump()`);
      const running = serial.preview!({ sql: 'UPDATE raced SET n = 2 WHERE id = 1' });
      // Until the preview waits on the latch (its first query, in SERIALIZABLE, took the snapshot before the wait).
      expect(await waitingOnLatch(admin)).toBe(true);
      await ddl.query('COMMIT');
      const p = await running;
      expect(p.status === 'skipped' && p.reason).toMatch(/trigger raced_bump on raced/);
      expect(await state()).toBe(before);
    } finally {
      await ddl.query('ROLLBACK').catch(() => {});
      await ddl.end();
      await serial.close();
      await admin.query('DROP TABLE raced');
    }
  });

  it('runs one preview at a time on a connection, and refuses more than 8 waiting', async () => {
    const outcomes = await Promise.all(Array.from({ length: 9 }, () => preview('UPDATE accounts SET balance = 1 WHERE id = 1')));
    expect(outcomes.slice(0, 8).every((o) => o.status === 'previewed')).toBe(true);
    expect(outcomes[8]).toEqual({ status: 'skipped', reason: '8 previews are already waiting on ledger' });
  });

  it('has no preview on a connection with preview: false', () => {
    expect(off.preview).toBeUndefined();
    expect(conn.preview).toBeTypeOf('function');
  });
});
