import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revertSql, type UndoOutcome } from '../../../core/undo.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresConnection } from './connection.ts';
import { loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('undo of approved writes (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const conn = createPostgresConnection({ name: 'ledger', url, tags: {}, undo: { maxRows: 5 } });
  const admin = new pg.Client({ connectionString: url });
  const table = async (t: string): Promise<string> => JSON.stringify((await admin.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows);
  const captured = (u: UndoOutcome | undefined): Extract<UndoOutcome, { status: 'captured' }> => {
    if (u?.status !== 'captured') throw new Error(`no undo: ${JSON.stringify(u)}`);
    return u;
  };

  beforeAll(async () => {
    await loadSqlParser();
    await admin.connect();
    await admin.query(`
      CREATE TABLE accounts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, balance numeric(12,2) NOT NULL, note text, at timestamptz DEFAULT '2026-01-01T00:00:00Z',
        doubled numeric GENERATED ALWAYS AS (balance * 2) STORED);
      INSERT INTO accounts (balance, note) SELECT g * 10.5, 'n' || g FROM generate_series(1, 8) g;
      CREATE TABLE pairs (a int, b text, v jsonb, PRIMARY KEY (a, b));
      INSERT INTO pairs VALUES (1, 'x', '{"k": [1, 2]}'), (1, 'y', NULL), (2, 'x', '"s"');
      CREATE TABLE moved (id int PRIMARY KEY, n int);
      INSERT INTO moved VALUES (1, 1), (2, 2);
      CREATE FUNCTION public.move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id + 1; RETURN NEW; END $$;
      CREATE TRIGGER move BEFORE UPDATE ON moved FOR EACH ROW EXECUTE FUNCTION public.move();
      CREATE TABLE nokey (n int);
      INSERT INTO nokey VALUES (1);
    `);
  });

  afterAll(async () => {
    await admin.end();
    await conn.close();
    await db?.drop();
  });

  it('an UPDATE keeps its before-image; the revert restores the table exactly', async () => {
    const before = await table('accounts');
    const r = await conn.execute({ sql: 'UPDATE accounts AS a SET balance = balance + $1, note = NULL WHERE a.id <= $2 -- trailing comment', params: [1, 3] }, { readOnly: false });
    expect(r.ok).toBe(true);
    // The agent gets the statement's own outcome, not the captured rows.
    expect(r.output).toEqual({ results: [{ command: 'UPDATE', rowCount: 3, fields: [], rows: [] }] });
    const undo = captured(r.undo);
    expect(undo).toMatchObject({ command: 'UPDATE', table: '"accounts"', keyColumns: ['id'] });
    expect(undo.rows.map((x) => x.key)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await table('accounts')).not.toBe(before);
    const revert = await conn.execute({ sql: revertSql(undo) }, { readOnly: false });
    expect(revert.error).toBeUndefined();
    expect(revert.ok).toBe(true);
    expect(await table('accounts')).toBe(before);
  });

  it('a DELETE keeps the deleted rows; the revert inserts them back, identity and generated columns as they were', async () => {
    const before = await table('pairs');
    const r = await conn.execute({ sql: "DELETE FROM public.pairs WHERE a = 1;" }, { readOnly: false });
    const undo = captured(r.undo);
    expect(undo.rows.map((x) => x.key)).toEqual(expect.arrayContaining([{ a: 1, b: 'x' }, { a: 1, b: 'y' }]));
    expect((await conn.execute({ sql: revertSql(undo) }, { readOnly: false })).ok).toBe(true);
    expect(await table('pairs')).toBe(before);

    const accounts = await table('accounts');
    const d = captured((await conn.execute({ sql: 'DELETE FROM accounts WHERE id IN (7, 8)' }, { readOnly: false })).undo);
    expect((await conn.execute({ sql: revertSql(d) }, { readOnly: false })).ok).toBe(true);
    expect(await table('accounts')).toBe(accounts);
  });

  it('a revert after a conflicting change is refused with the keys named, and changes nothing', async () => {
    const u = captured((await conn.execute({ sql: 'UPDATE accounts SET note = $1 WHERE id IN (4, 5)', params: ['changed'] }, { readOnly: false })).undo);
    await admin.query("UPDATE accounts SET note = 'someone else' WHERE id = 5");
    const changed = await table('accounts');
    const revert = await conn.execute({ sql: revertSql(u) }, { readOnly: false });
    expect(revert.error).toMatchObject({ code: 'UNDO_CONFLICT' });
    expect(revert.error?.message).toContain('{"id": 5}');
    expect(revert.error?.message).not.toContain('{"id": 4}');
    expect(await table('accounts')).toBe(changed);

    const d = captured((await conn.execute({ sql: "DELETE FROM pairs WHERE a = 2" }, { readOnly: false })).undo);
    await admin.query(`INSERT INTO pairs VALUES (2, 'x', '"other"')`);
    const taken = await table('pairs');
    const again = await conn.execute({ sql: revertSql(d) }, { readOnly: false });
    expect(again.error?.code).toBe('UNDO_CONFLICT');
    expect(again.error?.message).toContain('{"a": 2, "b": "x"}');
    expect(await table('pairs')).toBe(taken);
  });

  it('a write past maxRows is refused and changes nothing', async () => {
    const before = await table('accounts');
    const r = await conn.execute({ sql: 'UPDATE accounts SET balance = 0' }, { readOnly: false });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('UNDO_TOO_MANY_ROWS');
    expect(r.undo).toBeUndefined();
    expect(await table('accounts')).toBe(before);
  });

  it('refuses a run whose before-image it cannot prove (a trigger moved the key), changing nothing', async () => {
    const before = await table('moved');
    const r = await conn.execute({ sql: 'UPDATE moved SET n = 9 WHERE id = 2' }, { readOnly: false });
    expect(r.ok).toBe(false);
    expect(r.error?.message).toMatch(/^the undo of the statement could not be captured \(.+\); nothing was changed$/);
    expect(await table('moved')).toBe(before);
  });

  it('what undo cannot handle runs as before, saying why it has no undo', async () => {
    const cases: [string, string][] = [
      ['UPDATE nokey SET n = 2', 'its table has no primary key'],
      ['UPDATE pairs SET a = 9 WHERE a = 1', 'it sets the primary key column a'],
      ['DELETE FROM pairs USING nokey WHERE pairs.a = nokey.n', 'it joins other tables (USING)'],
      ['UPDATE nokey SET n = 3; UPDATE nokey SET n = 4', 'it holds several statements'],
      ['UPDATE nokey SET n = 5 RETURNING n', 'it already has RETURNING'],
      ["INSERT INTO nokey VALUES (1)", 'only a single UPDATE or DELETE has an undo'],
    ];
    for (const [sql, reason] of cases) {
      const r = await conn.execute({ sql }, { readOnly: false });
      expect(r.ok, sql).toBe(true);
      expect(r.undo, sql).toEqual({ status: 'none', reason });
    }
  });
});
