import { describe, expect, it } from 'vitest';
import type { Action } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import { actionDigest, canonicalJson, sha256Hex } from './digest.ts';
import type { Principal } from './principal.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys, at every depth, whatever order they were written in', () => {
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ z: { y: [{ d: 1, c: 2 }], x: null }, a: true })).toBe('{"a":true,"z":{"x":null,"y":[{"c":2,"d":1}]}}');
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // Compared as text: JSON.parse would put the integer-like key '1' first again.
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'] as const;
    const expected = `{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(input[k])}`).join(',')}}`;
    expect(canonicalJson(input)).toBe(expected);
  });

  it('writes numbers the way ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson(1e-7)).toBe('1e-7');
    expect(canonicalJson(0.1)).toBe('0.1');
    expect(canonicalJson(100)).toBe('100');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1.0)).toBe('1');
    expect(canonicalJson(333333333.33333329)).toBe('333333333.3333333');
    expect(canonicalJson([4.5, 2e-3, 0.000001])).toBe('[4.5,0.002,0.000001]');
  });

  it('escapes strings minimally (RFC 8785 §3.2.2.2)', () => {
    expect(canonicalJson('\u20ac$\u000f\nA\'B"\\\\"/')).toBe('"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
  });

  it('refuses a value with no JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });
});

describe('actionDigest', () => {
  const principal: Principal = { id: 'deploy-bot', kind: 'agent', actsFor: 'alice', groups: ['ci'], email: null };
  const connection: ConnectionInfo = { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } };
  const action: Action = {
    connection: 'orders-db',
    operation: 'sql.query',
    input: { sql: 'UPDATE orders SET status = $1 WHERE id = $2', params: ['shipped', 42] },
    reason: 'ship order 42',
  };
  const digest = actionDigest(principal, connection, action);

  it('is sha256: and 64 lower-case hex digits', () => {
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the SHA-256 of the canonical JSON of what it binds', () => {
    const bound = {
      principal: { id: 'deploy-bot', kind: 'agent', actsFor: 'alice' },
      connection: { name: 'orders-db', kind: 'postgres' },
      operation: 'sql.query',
      input: action.input,
    };
    expect(digest).toBe(`sha256:${sha256Hex(canonicalJson(bound))}`);
  });

  it('does not depend on the key order of the objects it is given', () => {
    const reordered: Action = {
      reason: action.reason,
      input: { params: ['shipped', 42], sql: 'UPDATE orders SET status = $1 WHERE id = $2' },
      operation: action.operation,
      connection: action.connection,
    };
    const p2: Principal = { email: null, groups: ['ci'], actsFor: 'alice', kind: 'agent', id: 'deploy-bot' };
    const c2: ConnectionInfo = { tags: { env: 'prod' }, kind: 'postgres', name: 'orders-db' };
    expect(actionDigest(p2, c2, reordered)).toBe(digest);
  });

  it.each([
    ['principal id', () => actionDigest({ ...principal, id: 'other-bot' }, connection, action)],
    ['principal kind', () => actionDigest({ ...principal, kind: 'human' }, connection, action)],
    ['acting-for human', () => actionDigest({ ...principal, actsFor: 'bob' }, connection, action)],
    ['acting for nobody', () => actionDigest({ ...principal, actsFor: null }, connection, action)],
    ['connection name', () => actionDigest(principal, { ...connection, name: 'orders-db-2' }, action)],
    ['connection kind', () => actionDigest(principal, { ...connection, kind: 'http' }, action)],
    ['operation', () => actionDigest(principal, connection, { ...action, operation: 'sql.other' })],
    ['input text', () => actionDigest(principal, connection, { ...action, input: { sql: 'UPDATE orders SET status = $1 WHERE id > $2', params: ['shipped', 42] } })],
    ['input parameter', () => actionDigest(principal, connection, { ...action, input: { sql: 'UPDATE orders SET status = $1 WHERE id = $2', params: ['shipped', 43] } })],
    ['input parameter type', () => actionDigest(principal, connection, { ...action, input: { sql: 'UPDATE orders SET status = $1 WHERE id = $2', params: ['shipped', '42'] } })],
  ])('changes with the %s', (_what, changed) => {
    expect(changed()).not.toBe(digest);
  });

  it('does not change with the reason, the groups, the email or the connection tags', () => {
    expect(actionDigest(principal, connection, { ...action, reason: 'a different story' })).toBe(digest);
    expect(actionDigest({ ...principal, groups: ['admins'], email: 'x@example.test' }, connection, action)).toBe(digest);
    expect(actionDigest(principal, { ...connection, tags: { env: 'staging' } }, action)).toBe(digest);
  });
});

describe('canonicalJson against the canonicalize package (RFC 8785 reference)', () => {
  it('agrees on any JSON value, integer-like keys and unicode keys included', async () => {
    const fc = await import('fast-check');
    const { default: reference } = (await import('canonicalize')) as unknown as { default: (v: unknown) => string };
    const key = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '9', '01', '-1', 'é', '\u{1F600}', 'a\u0000b', '\ud800', '__proto__', 'constructor'));
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, 0.1, 123456789012345680000),
        fc.string(),
        fc.array(tie('any'), { maxLength: 4 }),
        fc.dictionary(key, tie('any'), { maxKeys: 5 }),
      ),
    })).any;
    fc.assert(fc.property(value, (v) => canonicalJson(v) === reference(v)), { numRuns: 2000 });
    // The same values with every object's keys inserted in sorted order: the path that reorders nothing.
    const presorted = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(presorted);
      if (v === null || typeof v !== 'object') return v;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) Object.defineProperty(out, k, { value: presorted((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
      return out;
    };
    fc.assert(fc.property(value, (v) => canonicalJson(presorted(v)) === reference(v)), { numRuns: 2000 });
  });

  it('orders what is out of order beneath objects and arrays already in order, and leaves the value as it was', () => {
    const value = { a: [{ b: 1, a: { d: 2, c: 3 } }, 'x'], b: { c: { f: 1, e: 2 } }, c: 1 };
    const before = JSON.stringify(value);
    expect(canonicalJson(value)).toBe('{"a":[{"a":{"c":3,"d":2},"b":1},"x"],"b":{"c":{"e":2,"f":1}},"c":1}');
    expect(JSON.stringify(value)).toBe(before);
  });

  it('writes what toJSON gives, and a non-plain object by its own keys, inside objects already in order', () => {
    const at = new Date(Date.UTC(2026, 0, 2));
    expect(canonicalJson({ a: at, b: { toJSON: () => ({ z: 1, y: 2 }) } })).toBe('{"a":"2026-01-02T00:00:00.000Z","b":{"y":2,"z":1}}');
    expect(canonicalJson({ a: new Map([['k', 1]]), b: Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }) })).toBe('{"a":{},"b":{"own":2}}');
    expect(canonicalJson({ a: [1, undefined, () => 1], b: undefined, c: 'x' })).toBe('{"a":[1,null,null],"c":"x"}');
  });

  it('keeps an own __proto__ key from parsed input in the canonical form and the digest', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"b":1}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"admin":true},"b":1}');
  });

  it('refuses non-finite numbers like the reference does', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow();
    expect(() => canonicalJson({ a: 1, b: [2, { c: Number.NEGATIVE_INFINITY }] })).toThrow(TypeError);
  });
});
