import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { highlightSql, tokenizeSql } from './sql-highlight.ts';

const kinds = (sql: string) => tokenizeSql(sql).filter((t) => t.kind !== 'space').map((t) => [t.kind, t.text]);

describe('SQL highlighting', () => {
  it('tells keywords, strings, quoted identifiers, parameters, numbers and comments apart', () => {
    expect(kinds(`UPDATE "Orders" SET note = 'it''s -- fine' WHERE id = $1 AND total > 10.5 -- why`)).toEqual([
      ['keyword', 'UPDATE'],
      ['identifier', '"Orders"'],
      ['keyword', 'SET'],
      ['word', 'note'],
      ['operator', '='],
      ['string', `'it''s -- fine'`],
      ['keyword', 'WHERE'],
      ['word', 'id'],
      ['operator', '='],
      ['param', '$1'],
      ['keyword', 'AND'],
      ['word', 'total'],
      ['operator', '>'],
      ['number', '10.5'],
      ['comment', '-- why'],
    ]);
  });

  it('ends a line comment where PostgreSQL does, at a carriage return too: what follows runs and is not coloured as a comment', () => {
    expect(kinds('SELECT 1 -- read only\rDELETE FROM orders')).toEqual([
      ['keyword', 'SELECT'],
      ['number', '1'],
      ['comment', '-- read only'],
      ['keyword', 'DELETE'],
      ['keyword', 'FROM'],
      ['word', 'orders'],
    ]);
  });

  it('keeps dollar-quoted bodies and block comments whole', () => {
    expect(kinds('do $f$ begin perform 1; end $f$ /* a\n b */')).toEqual([
      ['keyword', 'do'],
      ['string', '$f$ begin perform 1; end $f$'],
      ['comment', '/* a\n b */'],
    ]);
  });

  it('reads comments, quotes and names as PostgreSQL does, so what runs after them is coloured as code', () => {
    expect(kinds("/* a /* b */ 'c */ DELETE")).toEqual([['comment', "/* a /* b */ 'c */"], ['keyword', 'DELETE']]);
    expect(kinds("1 *--'\n2")).toEqual([['number', '1'], ['operator', '*'], ['comment', "--'"], ['number', '2']]);
    expect(kinds("1 */* '*/ 2")).toEqual([['number', '1'], ['operator', '*'], ['comment', "/* '*/"], ['number', '2']]);
    expect(kinds("$é$ ' $é$; DELETE")).toEqual([['string', "$é$ ' $é$"], ['operator', ';'], ['keyword', 'DELETE']]);
    expect(kinds('1 \u00A0$q$; DELETE')).toEqual([['number', '1'], ['word', '\u00A0$q$'], ['operator', ';'], ['keyword', 'DELETE']]);
    expect(kinds("E'x'\n-- c\n'\\' ' ; DELETE")).toEqual([['string', "E'x'\n-- c\n'\\' '"], ['operator', ';'], ['keyword', 'DELETE']]);
    expect(kinds("E'it''s\\'' x")).toEqual([['string', "E'it''s\\''"], ['word', 'x']]);
    expect(kinds("E'x' 'y'")).toEqual([['string', "E'x'"], ['string', "'y'"]]);
  });

  it('loses no character of any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => tokenizeSql(s).map((t) => t.text).join('') === s));
  });

  it('escapes markup inside every kind of token', () => {
    const out = highlightSql(`select '</pre><script>alert(1)</script>' as "<b>" -- <img src=x onerror=alert(1)>`).value;
    expect(out).not.toMatch(/<script|<img|<b>|<\/pre>/);
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('<span class="sql-keyword">select</span>');
  });
});
