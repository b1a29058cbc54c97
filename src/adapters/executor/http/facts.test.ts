import { describe, expect, it } from 'vitest';
import { httpInputSchema } from '../../../core/action.ts';
import { DEFAULT_HTTP_TARGET, deriveHttpFacts, normaliseHttpTarget } from './facts.ts';

const facts = (input: Record<string, unknown>) => deriveHttpFacts(httpInputSchema.parse({ method: 'GET', ...input }));
const refused = (input: Record<string, unknown>) => expect(() => facts(input)).toThrow(expect.objectContaining({ code: 'INPUT_UNPARSEABLE' }));

describe('HTTP facts', () => {
  it('gives the method, path and query, and whether it writes', () => {
    expect(facts({ path: '/invoices?limit=5', query: { limit: '6', status: ['open', 'paid'] } }).http).toEqual({
      method: 'GET',
      path: '/invoices',
      query: { limit: ['5', '6'], status: ['open', 'paid'] },
    });
    expect(facts({ method: 'post', path: '/x' })).toMatchObject({ writes: true, http: { method: 'POST' } });
    expect(facts({ method: 'HEAD', path: '/x' }).writes).toBe(false);
  });

  it('decodes escaped unreserved characters, so /%61dmin is /admin for policy and upstream alike', () => {
    expect(facts({ path: '/%61dmin/users' }).http.path).toBe('/admin/users');
    expect(facts({ path: '/caf%c3%a9' }).http.path).toBe('/caf%C3%A9');
  });

  it('decodes escapes of the sub-delimiters, : and @ too (one spelling each); reads %2B as + but sends it as written (a raw + is a space to some)', () => {
    expect(facts({ path: '/jobs/7%3acancel/%40me' }).http.path).toBe('/jobs/7:cancel/@me');
    expect(facts({ path: '/tags/c%2B%2b' }).http.path).toBe('/tags/c++');
    expect(normaliseHttpTarget(httpInputSchema.parse({ method: 'GET', path: '/tags/c%2b+/' }), { ...DEFAULT_HTTP_TARGET, keepTrailingSlash: true })).toMatchObject({ path: '/tags/c++', upstreamPath: '/tags/c%2B+/' });
  });

  it.each([
    ['/public/..;/admin', 'a ; (matrix parameters, Tomcat-style traversal)'],
    ['/a/../admin', 'a .. segment'],
    ['/a/./b', 'a . segment'],
    ['/a/.%2e/x', 'an encoded dot'],
    ['/a%2Fadmin', 'an encoded slash'],
    ['/a%5C..%5Cx', 'an encoded backslash'],
    ['/a\\..\\x', 'a backslash'],
    ['//evil.example/x', 'a second host'],
    ['/x%zz', 'a malformed escape'],
    ['/x%25', 'an encoded percent sign'],
    ['/x#frag', 'a fragment'],
    ['/ledger/%D9%A1', 'an Arabic-Indic digit, which Python\'s int() and Java\'s parseLong read as 1'],
    ['/ledger/1%E0%A5%A6', 'a Devanagari digit after an ASCII one'],
  ])('refuses %s (%s)', (path) => refused({ path }));

  it('lets ASCII digits and other non-ASCII letters through, escaped as sent', () => {
    expect(facts({ path: '/ledger/10' }).http.path).toBe('/ledger/10');
    expect(facts({ path: '/wiki/%D8%B3%D9%84%D8%A7%D9%85' }).http.path).toBe('/wiki/%D8%B3%D9%84%D8%A7%D9%85');
  });

  it('refuses methods and headers that would change what runs behind the policy’s back', () => {
    refused({ method: 'TRACE', path: '/x' });
    refused({ method: 'CONNECT', path: '/x' });
    refused({ method: 'POST', path: '/x', headers: { 'X-HTTP-Method-Override': 'DELETE' } });
    refused({ path: '/public', headers: { 'X-Original-URL': '/admin' } });
  });

  it('collapses repeated slashes and drops a trailing one; lower-cases letters (not escapes) on a case-insensitive connection', () => {
    expect(facts({ path: '/admin/' }).http.path).toBe('/admin');
    expect(facts({ path: '/a//b///' }).http.path).toBe('/a/b');
    expect(facts({ path: '/' }).http.path).toBe('/');
    const ci = { caseInsensitivePaths: true, allowHeaders: [], allowQuery: [] };
    expect(deriveHttpFacts(httpInputSchema.parse({ method: 'GET', path: '/ADMIN/Caf%C3%A9%41' }), ci).http.path).toBe('/admin/caf%C3%A9a');
  });

  it('refuses a multipart part named _method as Werkzeug 2.2 reads it (a space before *=, a quoted parameter name, another charset)', () => {
    const multipart = { 'Content-Type': 'multipart/form-data; boundary=b' };
    const body = (disposition: string) => `--b\r\nContent-Disposition: form-data; ${disposition}\r\n\r\nDELETE\r\n--b--\r\n`;
    for (const d of ["name *=utf-8''_method", '"name"=_method', "name*=utf-16le''_%00m%00e%00t%00h%00o%00d%00", "name*=utf-7''+AF8-method"]) {
      expect(() => facts({ method: 'POST', path: '/i', headers: multipart, body: body(d) }), d).toThrow(expect.objectContaining({ code: 'INPUT_UNPARSEABLE' }));
    }
    expect(facts({ method: 'POST', path: '/i', headers: multipart, body: body("name*=utf-8''note") }).http.path).toBe('/i');
  });

  it('treats query keys named like object members as plain keys', () => {
    expect(facts({ path: '/x?constructor=1&toString=2&__proto__=3' }).http.query).toEqual({ constructor: ['1'], toString: ['2'], ['__proto__']: ['3'] });
  });

  it('refuses a JSON value under a form Content-Type, whatever its text; a form sent as text runs', () => {
    const form = { 'Content-Type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' };
    refused({ method: 'POST', path: '/i', headers: form, body: { email: 'a&role=admin&x=' } });
    refused({ method: 'POST', path: '/i', headers: form, body: { email: 'a;role=admin;x=' } });
    refused({ method: 'POST', path: '/i', headers: form, body: [{ 'a&role': 1 }] });
    expect(() => deriveHttpFacts(httpInputSchema.parse({ method: 'POST', path: '/i', body: { n: '&role=admin' } }), { allowHeaders: [], allowQuery: [], caseInsensitivePaths: false, contentType: 'application/x-www-form-urlencoded' })).toThrow(/would not parse it as JSON/);
    refused({ method: 'POST', path: '/i', headers: form, body: { email: 'a=b' } });
    refused({ method: 'POST', path: '/i', headers: { 'Content-Type': 'text/plain' }, body: '{"email":"a"}' });
    refused({ method: 'POST', path: '/i', headers: { 'Content-Type': 'application/vnd.api+json; charset=utf-8' }, body: '{"email":"a"}' });
    refused({ method: 'POST', path: '/i', headers: { 'Content-Type': '' }, body: { email: 'a' } });
    expect(deriveHttpFacts(httpInputSchema.parse({ method: 'POST', path: '/i', body: '{"email":"a"}' }), { allowHeaders: [], allowQuery: [], caseInsensitivePaths: false, contentType: 'application/vnd.api+json' }).http.path).toBe('/i');
    expect(facts({ method: 'POST', path: '/i', headers: { 'Content-Type': 'APPLICATION/JSON;charset=utf-8' }, body: '{"email":"a"}' }).http.path).toBe('/i');
    expect(facts({ method: 'POST', path: '/i', headers: { 'Content-Type': 'text/plain' }, body: 'email=a' }).http.path).toBe('/i');
    expect(facts({ method: 'POST', path: '/i', headers: form, body: 'email=a&role=member' }).http.path).toBe('/i');
    expect(facts({ method: 'POST', path: '/i', headers: { 'Content-Type': 'application/json' }, body: { email: 'a&role=admin' } }).http.path).toBe('/i');
  });

  it('refuses percent-escapes that do not decode as UTF-8 in a query, a form body, a path and an RFC 2231 part name', () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    for (const bad of ['%FF', '%ED%A0%80', '%C0%AE', '%C3+%A9', '%C3%26%A9']) {
      refused({ path: `/x?a=${bad}` });
      refused({ path: `/x?${bad}=1` });
      refused({ method: 'POST', path: '/x', headers: form, body: `a=1&b=${bad}` });
      refused({ path: `/x/${bad}/y` });
      const part = `--b\r\nContent-Disposition: form-data; name*=utf-8''n${bad}\r\n\r\nv\r\n--b--\r\n`;
      refused({ method: 'POST', path: '/x', headers: { 'Content-Type': 'multipart/form-data; boundary=b' }, body: part });
    }
    expect(facts({ path: '/x?a=%C3%A9&b=100%' }).http.query).toEqual({ a: ['é'], b: ['100%'] });
    expect(facts({ method: 'POST', path: '/x', headers: { 'Content-Type': 'text/plain' }, body: 'a=%FF' }).http.path).toBe('/x');
  });
});
