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

  it('a write the policy lets run without an undo changes every row, past maxRows, and keeps none', async () => {
    const r = await conn.execute({ sql: 'UPDATE nokey SET n = n' }, { readOnly: false, noUndo: ['bulk'] });
    expect(r.undo).toEqual({ status: 'none', reason: 'the policy lets it run without an undo (rule bulk)' });
    const all = await conn.execute({ sql: 'UPDATE accounts SET note = note' }, { readOnly: false, noUndo: ['bulk', 'archive'] });
    expect(all.ok).toBe(true);
    expect(all.summary).toMatchObject({ rowCount: 8 });
    expect(all.undo).toEqual({ status: 'none', reason: 'the policy lets it run without an undo (rules bulk, archive)' });
  });

  it('a revert keeps an undo of what it wrote: reverting it re-applies the change, down a chain', async () => {
    const original = await table('accounts');
    const u = captured((await conn.execute({ sql: "UPDATE accounts SET note = 'chained' WHERE id IN (1, 2)" }, { readOnly: false })).undo);
    const changed = await table('accounts');
    const r1 = await conn.execute({ sql: revertSql(u) }, { readOnly: false, reverting: u });
    expect(r1.output).toEqual({ results: [{ command: 'SELECT', rowCount: 1, fields: ['restored_rows'], rows: [[2]] }] });
    expect(await table('accounts')).toBe(original);
    const u1 = captured(r1.undo);
    expect(u1).toMatchObject({ command: 'UPDATE', table: '"accounts"' });
    const r2 = await conn.execute({ sql: revertSql(u1) }, { readOnly: false, reverting: u1 });
    expect(await table('accounts')).toBe(changed);
    const r3 = await conn.execute({ sql: revertSql(captured(r2.undo)) }, { readOnly: false, reverting: captured(r2.undo) });
    expect(r3.ok).toBe(true);
    expect(await table('accounts')).toBe(original);

    // A DELETE's revert is an INSERT; its undo deletes the rows it inserted, and that one's puts them back again.
    await admin.query(`CREATE TABLE chained (a int, b text, v jsonb, PRIMARY KEY (a, b)); INSERT INTO chained VALUES (1, 'x', '{"k": [1]}'), (1, 'y', NULL), (2, 'x', '2')`);
    const pairs = await table('chained');
    const d = captured((await conn.execute({ sql: 'DELETE FROM chained WHERE a = 1' }, { readOnly: false })).undo);
    const deleted = await table('chained');
    const ins = captured((await conn.execute({ sql: revertSql(d) }, { readOnly: false, reverting: d })).undo);
    expect(ins.command).toBe('INSERT');
    expect(await table('chained')).toBe(pairs);
    const del = captured((await conn.execute({ sql: revertSql(ins) }, { readOnly: false, reverting: ins })).undo);
    expect(del.command).toBe('DELETE');
    expect(await table('chained')).toBe(deleted);
    expect((await conn.execute({ sql: revertSql(del) }, { readOnly: false, reverting: del })).ok).toBe(true);
    expect(await table('chained')).toBe(pairs);
  });

  it('a revert of a revert after a conflicting change is refused with the keys named, and changes nothing', async () => {
    const u = captured((await conn.execute({ sql: "UPDATE accounts SET note = 'again' WHERE id IN (3, 4)" }, { readOnly: false })).undo);
    const u1 = captured((await conn.execute({ sql: revertSql(u) }, { readOnly: false, reverting: u })).undo);
    await admin.query("UPDATE accounts SET balance = balance + 1 WHERE id = 4");
    const now = await table('accounts');
    const r = await conn.execute({ sql: revertSql(u1) }, { readOnly: false, reverting: u1 });
    expect(r.error?.code).toBe('UNDO_CONFLICT');
    expect(r.error?.message).toContain('{"id": 4}');
    expect(r.error?.message).not.toContain('{"id": 3}');
    expect(await table('accounts')).toBe(now);
    // Reverting the INSERT of a DELETE's revert: a row changed since it was put back stays.
    const d = captured((await conn.execute({ sql: 'DELETE FROM accounts WHERE id = 6' }, { readOnly: false })).undo);
    const ins = captured((await conn.execute({ sql: revertSql(d) }, { readOnly: false, reverting: d })).undo);
    await admin.query("UPDATE accounts SET note = 'touched' WHERE id = 6");
    const touched = await table('accounts');
    const refused = await conn.execute({ sql: revertSql(ins) }, { readOnly: false, reverting: ins });
    expect(refused.error?.code).toBe('UNDO_CONFLICT');
    expect(refused.error?.message).toContain('{"id": 6}');
    expect(await table('accounts')).toBe(touched);
  });

  it('reads a run as a revert only when its statement is exactly the revert of the undo it names', async () => {
    const u = captured((await conn.execute({ sql: "UPDATE chained SET v = '1' WHERE a = 2" }, { readOnly: false })).undo);
    // A statement one character off is an ordinary statement: no revert's undo, whatever the caller says it reverts.
    const r = await conn.execute({ sql: `${revertSql(u)} ` }, { readOnly: false, reverting: u });
    expect(r.ok).toBe(true);
    expect(r.undo).toEqual({ status: 'none', reason: 'only a single UPDATE or DELETE has an undo' });
  });
  // jsonb carries numbers of any precision; a JavaScript number does not. A value read into the undo as a lossy number
  // would be written back by the revert as another value (a DELETE's revert has no after-image to catch it).
  it('never restores a number other than the one it captured (bigint past 2^53, long numeric): such a write keeps no undo', async () => {
    await admin.query(`CREATE TABLE big (id bigint PRIMARY KEY, n bigint, x numeric, f float8);
      INSERT INTO big VALUES (9007199254740993, 9007199254740993, 0.12345678901234567890123, 0.1), (1, 1, 1.25, 1e300), (2, 2, 0.5, -0.0)`);
    const rows = async () => (await admin.query('SELECT id::text, n::text, x::text, f::text FROM big ORDER BY id')).rows;
    const lossy = /a number JSON in JavaScript cannot hold exactly/;
    const d = await conn.execute({ sql: 'DELETE FROM big WHERE id > 1' }, { readOnly: false });
    expect(d.ok).toBe(true);
    expect(d.undo).toMatchObject({ status: 'none', reason: expect.stringMatching(lossy) });
    await admin.query('INSERT INTO big VALUES (9007199254740993, 9007199254740993, 0.12345678901234567890123, 0.1)');
    const u = await conn.execute({ sql: 'UPDATE big SET f = 0 WHERE x < 0.2' }, { readOnly: false });
    expect(u.undo).toMatchObject({ status: 'none', reason: expect.stringMatching(lossy) });
    // Numbers a JavaScript number holds exactly keep their undo, and the revert puts them back as they were.
    const was = await rows();
    const kept = captured((await conn.execute({ sql: 'DELETE FROM big WHERE id <= 2' }, { readOnly: false })).undo);
    expect((await conn.execute({ sql: revertSql(kept) }, { readOnly: false })).ok).toBe(true);
    expect(await rows()).toEqual(was);
  });
  it('a revert of a table and columns whose names hold quotes, and of values that look like SQL, restores exactly', async () => {
    await admin.query(`CREATE SCHEMA "s'q""x"; CREATE TABLE "s'q""x"."we""ird'" ("i'd" int PRIMARY KEY, "c""ol" text, j jsonb, b bytea, a text[], f float8);
      INSERT INTO "s'q""x"."we""ird'" VALUES (1, $$'); DROP TABLE accounts; --$$, $j$ {"x": "\\\\' ", "n": null, "d": [1, {"y": "'"}]}$j$, '\\x00ff27', ARRAY['a"b', $$c\\\\d$$, NULL], 'NaN'),
        (2, $$\\\\' \\n$$, 'null', NULL, '{}', '-Infinity')`);
    const rows = async () => JSON.stringify((await admin.query(`SELECT *, b::text AS bt, f::text AS ft FROM "s'q""x"."we""ird'" ORDER BY 1`)).rows);
    const was = await rows();
    const u = captured((await conn.execute({ sql: `UPDATE "s'q""x"."we""ird'" SET "c""ol" = 'z', j = '1', b = NULL, a = NULL, f = 0` }, { readOnly: false })).undo);
    expect((await conn.execute({ sql: revertSql(u) }, { readOnly: false })).ok).toBe(true);
    expect(await rows()).toBe(was);
    const d = captured((await conn.execute({ sql: `DELETE FROM "s'q""x"."we""ird'"` }, { readOnly: false })).undo);
    expect((await conn.execute({ sql: revertSql(d) }, { readOnly: false })).ok).toBe(true);
    expect(await rows()).toBe(was);
    expect(await table('accounts')).not.toBe('[]');
  });

  it("reads the table's key without calling a function of the search_path that shadows a built-in (public.unnest(int2vector))", async () => {
    // Made earlier by an agent's allowed DDL: an exact match for pg_index.indkey, which wins over pg_catalog.unnest(anyarray).
    await admin.query(`CREATE TABLE shadow_hits (n int);
      CREATE FUNCTION public.unnest(int2vector) RETURNS SETOF int2 LANGUAGE plpgsql AS
        $$BEGIN INSERT INTO shadow_hits VALUES (1); RETURN QUERY SELECT pg_catalog.unnest($1::int2[]); END$$`);
    try {
      const r = await conn.execute({ sql: "UPDATE pairs SET v = v WHERE a = 1 AND b = 'x'" }, { readOnly: false });
      expect(r.ok).toBe(true);
      expect(r.undo?.status).toBe('captured');
      expect((await admin.query('SELECT count(*)::int AS c FROM shadow_hits')).rows[0].c).toBe(0);
    } finally {
      await admin.query('DROP FUNCTION public.unnest(int2vector); DROP TABLE shadow_hits');
    }
  });
});
