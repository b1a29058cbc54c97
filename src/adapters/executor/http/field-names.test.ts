import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldClash, fieldInBoth, fieldKey, fieldKeys, multipartNames } from './field-names.ts';

describe('fieldClash', () => {
  it.each([
    [['user_id', 'user.id']],
    [['user_id', 'user id']],
    [['user_id', ' user_id']],
    [['user_id', 'user[id']],
    [['user_id', 'USER_ID']],
    [['a', 'a[b]']],
    [['a[b]', 'a']],
    [['a[x]', 'A[x]']],
    [['role', 'role\u0000x']],
    [['role', '[role]']],
    [['role', 'role]']],
    [['a', ']a]b']],
  ])('%j read as one field', (names) => {
    expect(fieldClash(names)).toEqual({ first: names[0], second: names[1] });
  });

  it.each([[['id', 'id']], [['tags[]', 'tags[]']], [['f[a]', 'f[b]']], [['user_id', 'user[id]']], [['a', 'b', 'ab']]])('%j are distinct', (names) => {
    expect(fieldClash(names)).toBeNull();
  });

  it('finds no clash in fewer than two distinct names, whatever they read as', () => {
    const name = fc.oneof(fc.string(), fc.constantFrom('a[a]', 'a]a[', '[a]', 'a\u0000a', 'A a.a', '_method', 'x[]', ']'));
    fc.assert(
      fc.property(name, fc.nat({ max: 3 }), (n, times) => {
        expect(fieldClash(Array.from({ length: times }, () => n))).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('fieldInBoth', () => {
  it('finds a field of the query named in the body, as frameworks that merge them read it', () => {
    expect(fieldInBoth(['amount'], ['currency', 'AMOUNT'])).toEqual({ first: 'amount', second: 'AMOUNT' });
    expect(fieldInBoth(['user.id'], ['user_id'])).toEqual({ first: 'user.id', second: 'user_id' });
    expect(fieldInBoth(['f[a]'], ['f'])).toEqual({ first: 'f[a]', second: 'f' });
    expect(fieldInBoth(['_method'], ['_method\u0000'])).toEqual({ first: '_method', second: '_method\u0000' });
    expect(fieldInBoth(['dry_run'], ['amount'])).toBeNull();
  });
});

describe('fieldKey', () => {
  it('ends a name at its NUL, as PHP reads it', () => {
    expect(fieldKey('_Method\u0000x')).toBe('_method');
  });

  it('reads a name in brackets as Rack 2 does', () => {
    expect(fieldKeys('[_method]')).toContain('_method');
    expect(fieldKeys('_method]]')).toContain('_method');
  });
});

describe('multipartNames', () => {
  const part = (disposition: string) => `--b\r\nContent-Disposition: form-data; ${disposition}\r\n\r\nx\r\n--b--\r\n`;

  // Werkzeug (Flask) reads each of these as _method (test/e2e/http-multipart-names.test.ts asks Flask itself).
  it.each(['name="_method"', 'name=_method', 'name=_method x', 'name=_method,x', 'name=_method=x', "name*=utf-8''%5Fmethod", "name*=utf-8'en.x'%5Fmethod", "name*=utf-8'a+b'_method"])('%s is among the names', (disposition) => {
    expect(multipartNames(part(disposition))).toEqual({ names: expect.arrayContaining(['_method']), continued: false });
  });

  it.each(['name*0="_met"; name*1="hod"', "name*0*=utf-8''%5Fme; name*1=thod", 'name="_met"; name*1="hod"', 'NAME*1="_method"'])('%s is given in continuations', (disposition) => {
    expect(multipartNames(part(disposition)).continued).toBe(true);
  });

  it('reads a quoted name whole, and nothing before the first Content-Disposition', () => {
    expect(multipartNames(`name="a"\r\n${part('name="note x"; filename="f.txt"')}`)).toEqual({ names: ['note x'], continued: false });
  });
});
