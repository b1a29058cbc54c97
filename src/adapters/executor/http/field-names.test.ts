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
    expect(multipartNames(part(disposition))).toEqual({ names: expect.arrayContaining(['_method']), continued: false, otherCharset: false });
  });

  it.each(['name*0="_met"; name*1="hod"', "name*0*=utf-8''%5Fme; name*1=thod", 'name="_met"; name*1="hod"', 'NAME*1="_method"'])('%s is given in continuations', (disposition) => {
    expect(multipartNames(part(disposition)).continued).toBe(true);
  });

  // Werkzeug 2.2 (Debian 12's python3-werkzeug) reads each of these as _method too: a space before `*=` or `=`, and a
  // parameter name in quotes, still name the part.
  it.each(["name *=utf-8''_method", "name *= utf-8''%5Fmethod", '"name"=_method', '"NAME" = "_method"', "\"name\" *=utf-8''_method"])('%s is among the names', (disposition) => {
    expect(multipartNames(part(disposition)).names).toContain('_method');
  });

  // Werkzeug 2.2 decodes an RFC 2231 name in whatever charset it gives (utf-16le, utf-7, cp037): `_%00m%00…` is _method.
  it.each(["name*=utf-16le''_%00m%00e%00t%00h%00o%00d%00", "name*=utf-7''+AF8-method", "name *=cp037''%6D%94%85%A3%88%96%84", "name*0*=UTF-16''x", "name*=iso-8859-1''caf%E9"])('%s is in a charset this reading does not decode', (disposition) => {
    expect(multipartNames(part(disposition)).otherCharset).toBe(true);
  });

  it.each(["name*=utf-8''%5Fmethod", "name*=UTF-8'en'note", "name*=''note", "name*=us-ascii''note", "name*=iso-8859-1''note", 'name="utf-16le\'\'x"', "name=utf-7''x"])('%s is not in another charset', (disposition) => {
    expect(multipartNames(part(disposition)).otherCharset).toBe(false);
  });

  it('reads a quoted name whole, and nothing before the first Content-Disposition', () => {
    expect(multipartNames(`name="a"\r\n${part('name="note x"; filename="f.txt"')}`)).toEqual({ names: ['note x'], continued: false, otherCharset: false });
  });
});
