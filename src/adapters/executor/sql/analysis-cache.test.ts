import { beforeAll, describe, expect, it } from 'vitest';
import { CountersignError } from '../../../core/errors.ts';
import { analyseSqlCached } from './analysis-cache.ts';
import { analyseSql, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

describe('analyseSqlCached', () => {
  it('answers a text seen before with the same frozen analysis, equal to a fresh one', () => {
    const sql = 'SELECT lower(name) FROM orders WHERE id = 7';
    const first = analyseSqlCached(sql);
    expect(analyseSqlCached(sql)).toBe(first);
    expect(first).toEqual(analyseSql(sql));
    expect(Object.isFrozen(first.facts.statements[0])).toBe(true);
    expect(() => (first.facts.tables as string[]).push('other')).toThrow(TypeError);
    expect(analyseSqlCached(sql).facts.tables).toEqual(['orders']);
  });

  it('keeps the analyses of connections with different read-only functions apart', () => {
    const sql = 'SELECT public.report_totals(1)';
    const trusting = ['public.report_totals'];
    expect(analyseSqlCached(sql, { readOnlyFunctions: trusting }).facts.readOnly).toBe(true);
    // Another connection, which does not list the function, sees a write, before and after the first was remembered.
    expect(analyseSqlCached(sql).facts.readOnly).toBe(false);
    expect(analyseSqlCached(sql, { readOnlyFunctions: ['public.other'] }).facts.readOnly).toBe(false);
    expect(analyseSqlCached(sql, { readOnlyFunctions: trusting }).facts.readOnly).toBe(true);
  });

  it('throws for a text that does not parse, each time, remembering nothing', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => analyseSqlCached('SELEC 1')).toThrow(CountersignError);
    }
    expect(() => analyseSqlCached('SET search_path = evil')).toThrow(CountersignError);
  });

  it('forgets the oldest text past its size, and analyses long texts afresh', () => {
    const first = analyseSqlCached('SELECT 1 AS a0');
    for (let i = 1; i <= 300; i++) analyseSqlCached(`SELECT 1 AS a${i}`);
    const again = analyseSqlCached('SELECT 1 AS a0');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    const long = `SELECT 1 AS x${' '.repeat(9000)}`;
    expect(analyseSqlCached(long)).not.toBe(analyseSqlCached(long));
  });
});
