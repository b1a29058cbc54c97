import { beforeAll, describe, expect, it } from 'vitest';
import { analyseSql, loadSqlParser } from './facts.ts';
import { MAX_NESTING, tooComplexForParser } from './sql-bound.ts';
import { sqlParser } from './sql-parser.ts';

beforeAll(async () => {
  await loadSqlParser();
});

/** Texts that, at some thousands of terms, overflowed the parser's stack (or near it): each is refused at this size. */
const DEEP: Record<string, string> = {
  'a chain of +': `SELECT 1${'+1'.repeat(5_000)}`,
  'a chain of casts': `SELECT 1${'::int'.repeat(3_000)}`,
  'a chain of ||': `SELECT ${Array(3_000).fill("'a'").join('||')}`,
  'UNIONs of two columns (commas between)': `SELECT 1, 1${' UNION SELECT 1, 1'.repeat(3_000)}`,
  'JOINs': `SELECT 1 FROM a${' JOIN a ON true'.repeat(2_000)}`,
  'nested subqueries': `SELECT ${'(SELECT '.repeat(1_200)}1${')'.repeat(1_200)}`,
  'nested parentheses': `SELECT ${'('.repeat(MAX_NESTING + 1)}1${')'.repeat(MAX_NESTING + 1)}`,
  'nested CASEs': `SELECT ${'CASE WHEN true THEN '.repeat(1_500)}1${' END'.repeat(1_500)}`,
  'subqueries around a chain': `SELECT ${'(SELECT '.repeat(500)}1${'+1'.repeat(5_800)}${')'.repeat(500)}`,
  'nested ARRAY brackets': `SELECT ${'ARRAY['.repeat(1_100)}1${']'.repeat(1_100)}`,
  'a chain of NOT': `SELECT 1 WHERE ${'NOT '.repeat(3_000)}true`,
  // Where the scan and PostgreSQL's lexer parted, the chain hid from the scan and aborted the parser.
  'a chain after a line comment ended by a carriage return': `SELECT 1 --\r${'+1'.repeat(5_000)}`,
  'a chain after a dollar quote with a tag of 300 characters': `SELECT $${'T'.repeat(300)}$ ' $${'T'.repeat(300)}$ ${'+1'.repeat(5_000)} -- '`,
  'a chain of columns named AND (x. and)': `SELECT 1${' + x. and'.repeat(5_000)}`,
  'a run of signs PostgreSQL splits into unary operators (-+-+…)': `SELECT ${'-+'.repeat(4_000)}1`,
  'a binary operator then a run of unary signs': `SELECT 1 ${'+-'.repeat(4_000)} 1`,
  'nested CASEs with a column named END (x. end)': `SELECT ${'CASE WHEN x. end THEN '.repeat(1_500)}1${' END'.repeat(1_500)}`,
};

/** SQL that people write or generate, however long: each is taken. */
const WIDE: Record<string, string> = {
  'a 10,000-value IN list': `SELECT * FROM t WHERE id IN (${Array.from({ length: 10_000 }, (_, i) => i).join(', ')})`,
  'a 10,000-row VALUES list': `INSERT INTO t (a, b) VALUES ${Array.from({ length: 10_000 }, (_, i) => `(${i}, -${i} + 1)`).join(', ')}`,
  '1,000 ANDed conditions': `SELECT * FROM t WHERE ${Array.from({ length: 1_000 }, (_, i) => `c${i} = ${i} + 1`).join(' AND ')}`,
  '5,000 ORs': `SELECT 1 WHERE ${Array(5_000).fill('a').join(' OR ')}`,
  'a 1,000-branch CASE': `SELECT CASE x ${Array.from({ length: 1_000 }, (_, i) => `WHEN ${i} THEN 'v${i}'`).join(' ')} ELSE NULL END FROM t`,
  '100,000 statements': 'SELECT 1;'.repeat(100_000),
  'a 400-term sum': `SELECT ${Array.from({ length: 400 }, (_, i) => `c${i}`).join(' + ')} FROM t`,
  '200 UNION ALLs': Array.from({ length: 200 }, (_, i) => `SELECT ${i}, 'x${i}', now() - interval '1 day'`).join(' UNION ALL '),
  'a chain inside a comment, a string, a quoted name and a dollar quote': `SELECT 1 /* ${'('.repeat(5_000)} /* nested */ ${'+1'.repeat(5_000)} */, '${'(('.repeat(3_000)}', "${'+'.repeat(5_000)}", $body$ ${'(+'.repeat(5_000)} $body$ -- ${'('.repeat(5_000)}\n`,
  "an E'' string with escaped quotes": `SELECT E'it\\'s ${'('.repeat(3_000)}'`,
};

describe('the bound checked before the parser', () => {
  it.each(Object.entries(DEEP))('refuses %s, and the parser is refused it before it sees it', (_name, sql) => {
    expect(tooComplexForParser(sql)).toMatch(/nests more deeply|chains more terms/);
    expect(() => sqlParser().parseSync(sql)).toThrow(sqlParser().SqlError);
    expect(() => analyseSql(sql)).toThrow(expect.objectContaining({ code: 'INPUT_UNPARSEABLE' }));
  });

  it.each(Object.entries(WIDE))('takes %s', (_name, sql) => {
    expect(tooComplexForParser(sql)).toBeUndefined();
  });

  it('lets the parser judge what the scan cannot see (an unclosed string or comment counts what came before)', () => {
    expect(tooComplexForParser("SELECT '(((")).toBeUndefined();
    expect(tooComplexForParser(`SELECT 1 /* ${'('.repeat(5_000)}`)).toBeUndefined();
    // A closing bracket that is not the one opened last is a term, never a way back up the levels.
    expect(tooComplexForParser(`SELECT ${'(CASE ]'.repeat(1_001)}`)).toMatch(/nests more deeply/);
    // A name with $ inside is one word, not the start of a dollar quote hiding what follows.
    expect(tooComplexForParser(`SELECT a$b$ ${'+1'.repeat(2_500)} $b$`)).toMatch(/chains more terms/);
  });
});
