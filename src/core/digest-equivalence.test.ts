/**
 * canonicalJson keeps what is already in key order and copies only the rest.
 * Every value the previous form (a sorted copy of every object, then
 * JSON.stringify) wrote must be written the same, and every value it refused
 * must be refused the same way: a digest or an audit hash that changed with
 * the way it is computed would break every approval and chain written before.
 */
import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './digest.ts';
import { valueTooDeep } from './json-depth.ts';

// The previous canonicalJson, as it was before objects in order were kept (558280c).
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;
const FALLBACK_KEY = (k: string) => {
  const c = k.charCodeAt(0);
  return (c >= 48 && c <= 57 && INDEX_LIKE.test(k)) || (c === 95 && k === '__proto__');
};
const FALLBACK = Symbol('fallback');
const MAX = 512;
function sortedCopy(v: unknown, depth = 0): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError('RFC 8785 allows only finite numbers');
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX) throw new RangeError(`value nests more than ${MAX} levels`);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return sortedCopy((v as { toJSON(): unknown }).toJSON(), depth + 1);
  if (Array.isArray(v)) return v.map((x) => sortedCopy(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    if (FALLBACK_KEY(k)) throw FALLBACK;
    out[k] = sortedCopy((v as Record<string, unknown>)[k], depth + 1);
  }
  return out;
}
function previous(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(sortedCopy(value));
  } catch (e) {
    if (e !== FALLBACK) throw e;
    if (valueTooDeep(value, MAX)) throw new RangeError(`value nests more than ${MAX} levels`);
    text = canonicalize(value);
  }
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** The text written, or the kind of error thrown: both must be the same. */
function outcome(f: (v: unknown) => string, v: unknown): string {
  try {
    return `ok:${f(v)}`;
  } catch (e) {
    return `throw:${(e as Error).constructor.name}`;
  }
}

const trapKeys = fc.constantFrom(
  '', '0', '1', '9', '10', '01', '00', '-1', '-0', '1.0', '1e3', ' 1', '1 ', '4294967294', '4294967295', '4294967296', '9007199254740993',
  '__proto__', 'constructor', 'prototype', 'toJSON', 'hasOwnProperty', 'valueOf', 'length',
  '\ud800', '\udc00', '\ud83d\ude00', '\uffff', '\ufb33', '\u20ac', 'e\u0301', '\u00e9', 'a\u0000b', 'A', 'a', 'Z', '_', '~',
);
const key = fc.oneof(trapKeys, fc.string({ maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 }), fc.string({ unit: 'grapheme-composite', maxLength: 2 }));
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, 0.1, 123456789012345680000, Number.MAX_VALUE, Infinity, -Infinity, NaN));

/**
 * Objects built every way the gateway meets them: insertion in any order, in sorted order, with a null prototype.
 * Keys are defined, not assigned, so `__proto__` is an own key, as JSON.parse makes it.
 */
type Shape = 'as-given' | 'sorted' | 'reversed' | 'null-proto';
function build(entries: [string, unknown][], shape: Shape): unknown {
  const list = shape === 'sorted' ? [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : shape === 'reversed' ? [...entries].reverse() : entries;
  const out: Record<string, unknown> = shape === 'null-proto' ? (Object.create(null) as Record<string, unknown>) : {};
  for (const [k, v] of list) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.constant(undefined),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.sparseArray(tie('any'), { maxLength: 4 }),
    fc
      .tuple(fc.array(fc.tuple(key, tie('any')), { maxLength: 5 }), fc.constantFrom<Shape>('as-given', 'sorted', 'reversed', 'null-proto'))
      .map(([entries, shape]) => build(entries, shape)),
    // toJSON-bearing values and objects JSON.stringify does not write by their own keys.
    tie('any').map((inner) => ({ toJSON: () => inner })),
    fc.integer().map((n) => new Date(n)),
    fc.integer().map((n) => Object(n) as unknown),
    fc.constant(new Map([['k', 1]])),
    tie('any').map((inner) => Object.assign(Object.create({ inherited: 1 }) as object, { own: inner })),
  ),
})).any;

describe('canonicalJson against its previous form (a sorted copy, then JSON.stringify)', () => {
  it('writes the same text, and refuses the same values, for any value', () => {
    fc.assert(
      fc.property(value, (v) => outcome(canonicalJson, v) === outcome(previous, v)),
      { numRuns: 5000 },
    );
  });

  it('writes the same text for any JSON text, parsed (integer-like and __proto__ keys as own keys)', () => {
    const json = fc.jsonValue().map((v) => JSON.stringify(v));
    fc.assert(
      fc.property(json, (text) => {
        const a = JSON.parse(text) as unknown;
        const b = JSON.parse(text) as unknown;
        return outcome(canonicalJson, a) === outcome(previous, b);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on the classic traps: integer-like keys first whatever their insertion, __proto__, surrogates, empty keys', () => {
    const traps: unknown[] = [
      JSON.parse('{"b":1,"1":2,"a":3}'),
      JSON.parse('{"01":1,"1":2,"-1":3,"4294967295":4,"4294967294":5,"":6}'),
      JSON.parse('{"__proto__":{"b":1,"a":2},"a":1}'),
      { '\ud83d\ude00': 1, '\ufb33': 2 },
      { '\ufb33': 1, '\ud83d\ude00': 2 },
      { 'e\u0301': 1, '\u00e9': 2 },
      { a: { toJSON: () => ({ b: 1, a: 2 }) }, b: 1 },
      { a: { toJSON: () => JSON.parse('{"2":1,"10":2}') as unknown } },
      { a: [1, , 3] }, // eslint-disable-line no-sparse-arrays
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
    ];
    for (const t of traps) expect(outcome(canonicalJson, t)).toBe(outcome(previous, t));
  });
});
