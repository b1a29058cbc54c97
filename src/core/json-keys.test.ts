import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldKey, foldKeys, jsonKeyClash } from './json-keys.ts';
import { copyFold } from '../../test/support/copy-fold.ts';

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

describe('foldKeys', () => {
  /** Equal down to own keys in order and prototypes (toStrictEqual reads a key `constructor` as the class). */
  function same(a: unknown, b: unknown): boolean {
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
    if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const ka = Reflect.ownKeys(a), kb = Reflect.ownKeys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
  }
  const keys = fc.oneof(fc.constantFrom('a', 'A', 'amount', 'AMOUNT', 'ta\u017Fk', '\u212Aind', '__proto__', 'constructor', 'x\u0000y', '\ud800'), fc.string());
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.array(tie('value'), { maxLength: 4 }), tie('object')),
    object: fc.dictionary(keys, tie('value'), { maxKeys: 5 }).map((o) => JSON.parse(JSON.stringify(o)) as unknown),
  })).value;

  it('folds as the copying path does, on JSON in any case', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(same(foldKeys(v), copyFold(v))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('folds as the copying path does, on JSON whose keys are folded, and returns it uncopied', () => {
    fc.assert(
      fc.property(json.map(copyFold), (v) => {
        expect(same(foldKeys(v), copyFold(v))).toBe(true);
        expect(foldKeys(v)).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('copies what needs a fold, at any depth, and what is not a plain object', () => {
    const inner = { list: [{ ok: 1 }, { Deep: 2 }] };
    expect(foldKeys(inner)).toStrictEqual({ list: [{ ok: 1 }, { deep: 2 }] });
    expect(inner.list[1]).toStrictEqual({ Deep: 2 });
    const proto = Object.create({ inherited: 1 }) as Record<string, unknown>;
    proto.own = 1;
    expect(foldKeys(proto)).not.toBe(proto);
    expect(foldKeys(proto)).toStrictEqual({ own: 1 });
    const withProtoKey = JSON.parse('{"__proto__":{"X":1}}') as unknown;
    expect(same(foldKeys(withProtoKey), copyFold(withProtoKey))).toBe(true);
    expect(Object.hasOwn(foldKeys(withProtoKey) as object, '__proto__')).toBe(true);
  });
});
