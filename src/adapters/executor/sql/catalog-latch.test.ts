import { beforeAll, describe, expect, it } from 'vitest';
import { changesCatalogs, latchStep, restLatch } from './catalog-latch.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

describe('the latch between the session check and schema changes', () => {
  it('is exclusive for what changes the catalogs by what it says, shared for what reads or changes rows', () => {
    for (const sql of ['CREATE OR REPLACE VIEW v AS SELECT 1', 'ALTER TABLE t ADD COLUMN c int', 'GRANT SELECT ON t TO r', "DO $$BEGIN END$$", 'CALL p()', 'CREATE TABLE x AS SELECT 1', 'INSERT INTO t VALUES (1); COMMIT']) {
      expect([sql, changesCatalogs(deriveSqlFacts(sql))]).toEqual([sql, true]);
      expect(latchStep(false, deriveSqlFacts(sql))).toBe('latch');
    }
    for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (nextval(\'s\'))', 'UPDATE t SET a = public.f(a) WHERE id = 1', 'DELETE FROM t', 'SET TimeZone = \'UTC\'', 'EXPLAIN SELECT 1']) {
      expect([sql, changesCatalogs(deriveSqlFacts(sql))]).toEqual([sql, false]);
      expect(latchStep(false, deriveSqlFacts(sql))).toBe('latch_shared');
    }
    // A read takes it shared, whatever it says.
    expect(latchStep(true, deriveSqlFacts('CREATE VIEW v AS SELECT 1'))).toBe('latch_shared');
  });

  it('is taken in the transaction, or at session level before a REPEATABLE READ one (whose snapshot is its first query)', () => {
    expect(restLatch('shared', false)).toEqual({ sql: 'SELECT pg_catalog.pg_advisory_xact_lock_shared(1129531212, 1)', before: false });
    expect(restLatch('exclusive', false)).toEqual({ sql: 'SELECT pg_catalog.pg_advisory_xact_lock(1129531212, 1)', before: false });
    expect(restLatch('shared', true)).toEqual({ sql: 'SELECT pg_catalog.pg_advisory_lock_shared(1129531212, 1)', before: true });
    expect(restLatch('exclusive', true)).toEqual({ sql: 'SELECT pg_catalog.pg_advisory_lock(1129531212, 1)', before: true });
  });
});
