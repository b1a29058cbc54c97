import { describe, expect, it } from 'vitest';
import { maskPaths, parseMaskPath } from './mask.ts';

const mask = (v: string) => `M(${v})`;

describe('maskPaths', () => {
  it('masks values at dotted, indexed and wildcard paths, and leaves the rest', () => {
    const input = { method: 'POST', path: '/pay', body: { card: { number: '4111', cvc: 123 }, amount: 5, items: [{ secret: 'a' }, { secret: 'b', keep: 1 }] }, query: { token: 't' } };
    expect(maskPaths(input, ['body.card.number', 'query.token', 'body.items[*].secret'], mask)).toEqual({
      method: 'POST',
      path: '/pay',
      body: { card: { number: 'M(4111)', cvc: 123 }, amount: 5, items: [{ secret: 'M(a)' }, { secret: 'M(b)', keep: 1 }] },
      query: { token: 'M(t)' },
    });
    expect(maskPaths({ sql: 'x', params: ['a', 2, null] }, ['params[1]', 'params[2]'], mask)).toEqual({ sql: 'x', params: ['a', 'M(2)', null] });
    expect(maskPaths({ body: { card: { n: 1 } } }, ['body.card'], mask)).toEqual({ body: { card: 'M({"n":1})' } });
  });

  it('skips missing paths and does not change its input', () => {
    const input = { body: { a: 1 } };
    expect(maskPaths(input, ['body.b', 'query.x', 'body.a.deeper'], mask)).toEqual({ body: { a: 1 } });
    maskPaths(input, ['body.a'], mask);
    expect(input).toEqual({ body: { a: 1 } });
  });

  it('parses paths strictly', () => {
    expect(parseMaskPath('args[*]')).toEqual(['args', '*']);
    expect(parseMaskPath('body.*.secret')).toEqual(['body', '*', 'secret']);
    expect(() => parseMaskPath('body..x')).toThrow();
    expect(() => parseMaskPath('a[b]')).toThrow();
  });
});
