import { describe, expect, it } from 'vitest';
import { foldKey, jsonKeyClash } from './json-keys.ts';

describe('foldKey', () => {
  it.each([
    ['amount', 'AMOUNT'],
    ['task', 'ta\u017Fk'],
    ['kind', '\u212Aind'],
    ['\u00b5', '\u03bc'],
    ['\u03c2', '\u03a3'],
    ['\u00df', '\u1e9e'],
    ['id', '\u0131d'],
    ['a\ud800', 'a\udfff'],
    ['a\ud800', 'a\ufffd'],
    ['name', 'NAME\u0000x'],
  ])('%s and %s fold alike', (a, b) => {
    expect(foldKey(a)).toBe(foldKey(b));
  });

  it('keeps apart what no reader equates', () => {
    expect(foldKey('stra\u00dfe')).not.toBe(foldKey('STRASSE'));
    expect(foldKey('amount')).not.toBe(foldKey('amounts'));
  });
});

describe('jsonKeyClash', () => {
  it('finds exact duplicates at any depth, keys with escapes decoded', () => {
    expect(jsonKeyClash('{"a":1,"a":2}')).toEqual({ first: 'a', second: 'a' });
    expect(jsonKeyClash('[1,{"x":[{"b":1,"\\u0062":2}]}]')).toEqual({ first: 'b', second: 'b' });
  });

  it('finds keys equal under a fold, and no clash across objects, in values or in strings', () => {
    expect(jsonKeyClash('{"a":{"k":1},"b":[{"K":1}],"c":"\\"k\\":","A":0}', foldKey)).toEqual({ first: 'a', second: 'A' });
    expect(jsonKeyClash('{"a":{"k":1},"b":{"k":1},"c":["a","A"],"d":"a","e":{}}', foldKey)).toBeNull();
    expect(jsonKeyClash('{"a":1,"A":2}')).toBeNull();
  });
});
