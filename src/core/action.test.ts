import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerName, httpInputSchema, parseInput, policyInput, type ActionInput } from './action.ts';
import { copyFold } from '../../test/support/copy-fold.ts';

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

describe('the input as policy sees it', () => {
  function copyingPolicyInput(input: ActionInput): ActionInput {
    if ('tool' in input) return { ...input, arguments: copyFold(input.arguments) as Record<string, unknown> };
    if (!('method' in input)) return input;
    const body = input.body !== null && typeof input.body === 'object' ? { body: copyFold(input.body) } : {};
    if (!input.headers) return { ...input, ...body };
    const headers = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(input.headers)) headers[headerName(k)] ??= v;
    return { ...input, headers: { ...headers }, ...body };
  }
  const name = fc.oneof(fc.constantFrom('amount', 'AMOUNT', 'Path', 'x-env', 'X_Env', '__proto__', 'ta\u017Fk'), fc.string({ maxLength: 4 }));
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.integer(), fc.string({ maxLength: 4 }), fc.array(tie('value'), { maxLength: 3 }), tie('object')),
    object: fc.dictionary(name, tie('value'), { maxKeys: 4 }).map((o) => JSON.parse(JSON.stringify(o)) as unknown),
  })).value;
  const folded = json.map(copyFold);
  const inputs: fc.Arbitrary<ActionInput> = fc.oneof(
    fc.record({ method: fc.constantFrom('GET', 'POST'), path: fc.constant('/x'), body: fc.oneof(json, folded, fc.string({ maxLength: 4 })), headers: fc.dictionary(name, fc.string({ maxLength: 3 }), { maxKeys: 3 }) }, { requiredKeys: ['method', 'path'] }) as fc.Arbitrary<ActionInput>,
    fc.record({ tool: fc.constant('t'), arguments: fc.oneof(json, folded).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v)) }) as fc.Arbitrary<ActionInput>,
  );

  it('is what the copying fold made of it, and the input itself when nothing needed folding', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const got = policyInput(input), want = copyingPolicyInput(input);
        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
        expect(Object.keys(got)).toEqual(Object.keys(want));
        const body = 'tool' in input ? input.arguments : 'method' in input ? input.body : undefined;
        if (!('headers' in input && input.headers) && JSON.stringify(copyFold(body)) === JSON.stringify(body)) expect(got).toBe(input);
      }),
      { numRuns: 3000 },
    );
  });
});
