/**
 * One field, two readings: policy reads an HTTP action's JSON body and query
 * as JavaScript does (keys compared exactly), while common upstreams match
 * names otherwise. Go's encoding/json, .NET (case-insensitive properties) and
 * Jackson (ACCEPT_CASE_INSENSITIVE_PROPERTIES) match JSON keys in any case,
 * Go even `ſ` as `s` and the Kelvin sign as `k`, the last match winning; PHP
 * reads `user.id`, `user id` and ` user_id` in a query or form as `user_id`,
 * and `a[b]` as field `a`. Policy would judge `amount: 1` while the upstream
 * pays `AMOUNT: 100000`. Such actions are refused at submit, nothing sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - { name: api, kind: http, url: "${upstream.url}" }
  - { name: form-api, kind: http, url: "${upstream.url}", headers: { Content-Type: "application/x-www-form-urlencoded" } }
policy:
  default: deny
  rules:
    - id: small-payments
      when: facts.http.method == "POST" && facts.http.path == "/payments"
      effect: allow
    - id: big-payments
      when: facts.http.path == "/payments" && action.input.body.amount > 100
      effect: deny
    - id: own-user
      when: facts.http.method == "GET" && facts.http.path == "/users" && "user_id" in facts.http.query && facts.http.query["user_id"] == ["1"]
      effect: allow
    - id: forms
      when: facts.http.method == "POST" && facts.http.path == "/forms"
      effect: allow
    - id: invites
      when: facts.http.method == "POST" && facts.http.path == "/invites"
      effect: allow
    - id: admin-invites
      when: facts.http.path == "/invites" && has(action.input.body.role) && action.input.body.role != "member"
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input, reason: 'collide' } });

async function expectRefused(input: Record<string, unknown>, names: RegExp): Promise<void> {
  const before = upstream.calls.length;
  const res = await send(input);
  expect(res.status, JSON.stringify(input)).toBe(422);
  expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
  expect(res.body.error.message).toMatch(names);
  expect(upstream.calls.length).toBe(before);
}

describe('JSON body keys that collide in case', () => {
  it.each([
    [{ amount: 1, AMOUNT: 100000 }, /AMOUNT/],
    [{ order: { amount: 1, Amount: 100000 } }, /Amount/],
    [{ items: [{ sku: 'a' }, { amount: 1, aMount: 100000 }] }, /aMount/],
    [{ amount: 1, task: 'refund', ['ta\u017Fk']: 'payout' }, /task/],
    [{ amount: 1, kind: 'refund', ['\u212Aind']: 'payout' }, /kind/],
  ])('%j → 422 INPUT_UNPARSEABLE, nothing sent', async (body, names) => {
    await expectRefused({ method: 'POST', path: '/payments', body }, names);
  });

  it('in a body given as JSON text, folded or exact duplicates → 422, nothing sent', async () => {
    for (const body of ['{"amount":1,"AMOUNT":100000}', '{"amount":1,"amount":100000}', '[{"a":{"amount":1,"amount":2}}]', '{"\\u0061mount":1,"amount":2}']) {
      await expectRefused({ method: 'POST', path: '/payments', headers: { 'Content-Type': 'application/json' }, body }, /amount/i);
    }
  });

  it('in JSON text a lenient reader takes (a BOM first, a comment, a trailing comma), is refused, as not strict JSON → 422, nothing sent', async () => {
    // Jackson and .NET skip a byte-order mark; JSON5-style readers take comments and trailing commas: the keys are read all the same.
    for (const body of ['\uFEFF{"amount":1,"AMOUNT":100000}', '{"amount":1, /* note */ "Amount":100000}', '{"amount":1,"AMOUNT":100000,}', '  \n[{"amount":1,"aMount":2},]']) {
      // Under a rule that allows any body on /forms: only the key check stands between it and the upstream.
      await expectRefused({ method: 'POST', path: '/forms', headers: { 'Content-Type': 'application/json' }, body }, /not strict JSON/);
    }
  });

  it('keys that differ otherwise run, sent as written', async () => {
    const res = await send({ method: 'POST', path: '/payments', body: { amount: 1, amounts: [1], currency: 'EUR', nested: [{ amount: 2 }, { amount: 3 }] } });
    expect(res.status).toBe(200);
    expect(upstream.calls.at(-1)!.body).toBe('{"amount":1,"amounts":[1],"currency":"EUR","nested":[{"amount":2},{"amount":3}]}');
  });
});

describe('exact duplicate keys in the submission itself', () => {
  it('→ 400 INVALID_JSON, nothing recorded or sent', async () => {
    const before = upstream.calls.length;
    const text = '{"connection":"api","input":{"method":"POST","path":"/payments","body":{"amount":100000,"amount":1}},"reason":"dup"}';
    const res = await gw.as('deploy-bot', '/v1/actions', { body: text });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
    expect(res.body.error.message).toMatch(/amount/);
    expect(upstream.calls.length).toBe(before);
    const list = await gw.as('deploy-bot', '/v1/requests');
    expect(JSON.stringify(list.body)).not.toMatch(/"dup"/);
  });
});

describe('query keys that one framework or another reads as one', () => {
  it.each([
    [{ path: '/users?user_id=1&user.id=2' }, /user\.id/],
    [{ path: '/users?user_id=1&user+id=2' }, /user id/],
    [{ path: '/users?user_id=1&%20user_id=2' }, / user_id/],
    [{ path: '/users?user_id=1&user[id=2' }, /user\[id/],
    [{ path: '/users?user_id=1&USER_ID=2' }, /USER_ID/],
    [{ path: '/users?user_id=1', query: { 'user.id': '2' } }, /user\.id/],
    [{ path: '/users?user_id=1&user_id[x]=2' }, /user_id\[x\]/],
  ])('%j → 422 INPUT_UNPARSEABLE, nothing sent', async (target, names) => {
    await expectRefused({ method: 'GET', ...target }, names);
  });

  it('a key spelled with escapes is the same key: policy sees both values', async () => {
    const before = upstream.calls.length;
    const res = await send({ method: 'GET', path: '/users?user_id=1&user%5Fid=2' });
    expect(res.status).toBe(403);
    expect(upstream.calls.length).toBe(before);
  });

  it('distinct keys, arrays and nested names run, sent as judged', async () => {
    const res = await send({ method: 'GET', path: '/users?user_id=1&tags[]=a&tags[]=b&filter[a]=1&filter[b]=2' });
    expect(res.status).toBe(200);
    expect(new URL(upstream.calls.at(-1)!.url, 'http://x').searchParams.getAll('user_id')).toEqual(['1']);
  });

  it('a space in a value goes upstream as %20, which every decoder reads as a space', async () => {
    const res = await send({ method: 'GET', path: '/users?user_id=1', query: { q: 'a b+c' } });
    expect(res.status).toBe(200);
    expect(upstream.calls.at(-1)!.url).toBe('/users?user_id=1&q=a%20b%2Bc');
  });
});

describe('form bodies with the same rule', () => {
  it.each([
    ['application/x-www-form-urlencoded', 'user_id=1&user.id=2', /user\.id/],
    ['application/x-www-form-urlencoded; charset=utf-8', 'amount=1&AMOUNT=100000', /AMOUNT/],
    ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="user_id"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name="user.id"\r\n\r\n2\r\n--b--\r\n', /user\.id/],
  ])('%s %j → 422, nothing sent', async (type, body, names) => {
    await expectRefused({ method: 'POST', path: '/forms', headers: { 'Content-Type': type }, body }, names);
  });

  it('a form of distinct fields runs', async () => {
    const res = await send({ method: 'POST', path: '/forms', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user_id=1&tags[]=a&tags[]=b' });
    expect(res.status).toBe(200);
    expect(upstream.calls.at(-1)!.body).toBe('user_id=1&tags[]=a&tags[]=b');
  });
});

describe('a name in both the query and the body', () => {
  // Rails' params, PHP's $_REQUEST and the servlet getParameter read query and body as one set of fields.
  it.each([
    [{ path: '/payments?amount=1', body: { amount: 100000 } }, /amount/],
    [{ path: '/payments?amount=1', body: { AMOUNT: 100000 } }, /AMOUNT/],
    [{ path: '/payments', query: { 'user.id': '1' }, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user_id=2' }, /user_id/],
  ])('%j → 422, nothing sent', async (target, names) => {
    await expectRefused({ method: 'POST', ...target }, names);
  });

  it('distinct names in query and body run', async () => {
    const res = await send({ method: 'POST', path: '/payments?dry_run=1', body: { amount: 1 } });
    expect(res.status).toBe(200);
  });
});

describe('a connection that sets the Content-Type itself', () => {
  // The configured header wins over the agent's: the body is read under it, whatever the agent declared.
  it.each([
    [{ 'Content-Type': 'text/plain' }, 'user_id=1&user.id=2', /user\.id/],
    [{}, 'amount=1&AMOUNT=100000', /AMOUNT/],
  ])('%j %j → 422, nothing sent', async (headers, body, names) => {
    const before = upstream.calls.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'form-api', input: { method: 'POST', path: '/forms', headers, body }, reason: 'collide' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(names);
    expect(upstream.calls.length).toBe(before);
  });
});

describe('a body declared in another charset than the UTF-8 it is sent in', () => {
  // Under charset=utf-7, "+ACIALAAi-amount+ACI-:100000" decodes to a second key.
  it.each(['application/json; charset=utf-7', 'application/x-www-form-urlencoded; charset=UTF-16', 'text/plain;charset="utf-7"'])('%s → 422, nothing sent', async (type) => {
    await expectRefused({ method: 'POST', path: '/payments', headers: { 'Content-Type': type }, body: { amount: 1, note: '+ACIALAAiAGEAbQBvAHUAbgB0ACIAOgAxADAAMAAwADAAMAAs-' } }, /charset/);
  });

  // A parser that takes the last of a repeated parameter (or the quoted one) reads utf-7 where the check read utf-8.
  it.each(['application/json; charset=utf-8; charset=utf-7', 'application/json; x="a;charset=utf-8"; charset=utf-7', 'application/json;charset=utf-8;CHARSET=utf-16'])('%s → 422, nothing sent', async (type) => {
    await expectRefused({ method: 'POST', path: '/payments', headers: { 'Content-Type': type }, body: { amount: 1, note: '+ACIALAAiAGEAbQBvAHUAbgB0ACIAOgAxADAAMAAwADAAMAAs-' } }, /charset/);
  });

  it('utf-8 in any spelling runs', async () => {
    const res = await send({ method: 'POST', path: '/payments', headers: { 'Content-Type': 'application/json; charset="UTF-8"' }, body: { amount: 1 } });
    expect(res.status).toBe(200);
  });
});

describe('a body declared in a Content-Encoding', () => {
  // The gateway sends the body's text as policy judged it; an upstream that inflates request bodies (ASP.NET Core's
  // request decompression, Apache's INFLATE filter) would read whatever those bytes inflate to. `{` is a deflate
  // block header (final, fixed Huffman): a JSON text can be a deflate stream of another body that nobody judged.
  it.each(['deflate', 'gzip', 'br', 'identity, deflate'])('%s → 422, nothing sent', async (coding) => {
    await expectRefused({ method: 'POST', path: '/payments', headers: { 'Content-Encoding': coding }, body: { amount: 1 } }, /Content-Encoding/);
  });

  it('identity runs', async () => {
    const res = await send({ method: 'POST', path: '/payments', headers: { 'content-encoding': 'identity' }, body: { amount: 1 } });
    expect(res.status).toBe(200);
  });
});

describe('a body given as JSON and sent under a form Content-Type', () => {
  // Policy reads `amount` from the JSON value (1); a form reader of the text sent reads the field `amount` the string
  // value smuggles in (PHP and Rails read `100000"}` as 100000). The two readings must not name one field. (A multipart
  // reading cannot be smuggled so: JSON text escapes the line breaks a part's headers need.)
  it.each([
    ['application/x-www-form-urlencoded', { amount: 1, note: '&amount=100000' }],
    ['application/x-www-form-urlencoded', { amount: 1, note: '&AMOUNT=100000' }],
    ['application/x-www-form-urlencoded', { amount: 1, note: '&amount[x]=100000' }],
  ])('%s %j → 422, nothing sent', async (type, body) => {
    await expectRefused({ method: 'POST', path: '/payments', headers: { 'Content-Type': type }, body }, /amount/i);
  });

  it('under the connection\'s own form Content-Type too', async () => {
    const before = upstream.calls.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'form-api', input: { method: 'POST', path: '/forms', body: { amount: 1, note: '&amount=100000' } }, reason: 'collide' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(before);
  });

  // A field the JSON does not have at all: policy (rightly, for the value it judged) finds no role and allows; a form
  // reader of the text sent reads role=admin, as clean as a field of its own. Python's and Go's older readers, Perl's
  // CGI and others split fields at ; as well as &.
  it.each([
    { email: 'a@example.com&role=admin&x=' },
    { email: 'a@example.com;role=admin;x=' },
    { email: 'a@example.com', note: { deep: '&role=admin&x=' } },
  ])('a field the JSON does not have, %j → 422, nothing sent', async (body) => {
    const before = upstream.calls.length;
    const res = await send({ method: 'POST', path: '/invites', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect(res.status, JSON.stringify(upstream.calls.slice(before).map((c) => c.body))).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(before);
  });

  it('an object whose text reads as one form field is refused too: a form reader finds none of the fields policy judged', async () => {
    const before = upstream.calls.length;
    const res = await send({ method: 'POST', path: '/payments', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { amount: 1, note: 'fish and chips = lunch' } });
    expect([res.status, res.body.error?.code]).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect(upstream.calls.length).toBe(before);
  });
});
