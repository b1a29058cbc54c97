import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpInputSchema, parseInput } from './action.ts';

const method = fc.oneof(fc.constantFrom('GET', 'get', 'pOsT', 'DELETE', '', 'G3T', 'GET ', 'ǅ', 'ß'), fc.string({ maxLength: 4 }));
const path = fc.oneof(fc.constantFrom('/', '/x', 'x', '', '//a', `/${'a'.repeat(8191)}`, `/${'a'.repeat(8192)}`), fc.string({ maxLength: 6 }).map((s) => `/${s}`), fc.string({ maxLength: 4 }));
const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), method, path);
const key = fc.constantFrom('method', 'path', 'body', 'query', 'headers', 'Method', '__proto__', 'extra');
/** Inputs near the schema's edges: its keys (some, all, others), values of every kind, JSON.parse's own `__proto__`. */
const input = fc.oneof(
  fc.record({ method, path, body: value }, { requiredKeys: [] }),
  fc.record({ method: value, path: value, body: value, query: fc.constant({ a: 'b' }) }, { requiredKeys: ['method', 'path'] }),
  fc.array(fc.tuple(key, value), { maxLength: 4 }).map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
  fc.constantFrom(null, [], 'GET /', Object.assign(Object.create(null) as object, { method: 'GET', path: '/' }), JSON.parse('{"__proto__":{},"method":"GET","path":"/"}') as object),
);

describe('an HTTP action input', () => {
  it('is parsed exactly as its schema parses it: the same object, keys in the same order, the body the same value', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const parsed = httpInputSchema.safeParse(raw);
        if (!parsed.success) {
          expect(() => parseInput('http', raw)).toThrow();
          return;
        }
        const got = parseInput('http', raw) as Record<string, unknown>;
        expect(JSON.stringify(got)).toBe(JSON.stringify(parsed.data));
        expect(Object.keys(got)).toEqual(Object.keys(parsed.data));
        expect(got['body']).toBe((parsed.data as Record<string, unknown>)['body']);
      }),
      { numRuns: 5000 },
    );
  });
});
