/**
 * A body given as text that Python's json reads otherwise than policy. Policy
 * reads text as JSON where JavaScript's JSON.parse does, and as text
 * otherwise, so a rule written as README writes it
 * (`has(action.input.body.amount) && action.input.body.amount > 1000`) found
 * no field in `{"amount": 5000, "fee": NaN}`, in it after a byte-order mark,
 * or in it as UTF-16, and let it through; an app that parses the body as JSON
 * whatever its Content-Type (Django's `json.loads(request.body)`, Flask's
 * `get_json(force=True)`, FastAPI on a body without one) read amount 5000. And
 * `{"account": 9007199254740993}` is account 9007199254740992 to policy (a
 * double) and 9007199254740993 to Python: a deny on that account did not hold.
 * Such text is now refused before policy (422 INPUT_UNPARSEABLE).
 *
 * The upstream is a real Flask app (test/support/flask-echo-upstream.py),
 * reading the body with Python's json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveFlask, startFlaskUpstream, type FlaskUpstream } from '../support/flask-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let flask: FlaskUpstream;
let gw: TestGateway;

beforeAll(async () => {
  if (!haveFlask) return;
  flask = await startFlaskUpstream();
  gw = await startTestGateway(`connections:
  - { name: payments, kind: http, url: "${flask.url}" }
  - { name: form-payments, kind: http, url: "${flask.url}", headers: { Content-Type: "application/x-www-form-urlencoded" } }
policy:
  default: deny
  rules:
    - id: pay
      when: facts.http.method == "POST" && facts.http.path == "/payments"
      effect: allow
    - id: small-payments-only
      when: has(action.input.body.amount) && action.input.body.amount > 1000
      effect: deny
    - id: never-the-treasury
      when: has(action.input.body.account) && action.input.body.account == 9007199254740993
      effect: deny
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

/** A POST of `text` to /payments, with no Content-Type unless given; what Flask read of it. */
async function pay(text: string, contentType?: string, connection = 'payments') {
  const before = (await flask.calls()).length;
  const input = { method: 'POST', path: '/payments', ...(contentType ? { headers: { 'Content-Type': contentType } } : {}), body: text };
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'pay' } });
  return { res, read: (await flask.calls()).slice(before) };
}

const utf16le = (s: string) => [...s].map((c) => `${c}\u0000`).join('');
const utf16be = (s: string) => [...s].map((c) => `\u0000${c}`).join('');
const utf32le = (s: string) => [...s].map((c) => `${c}\u0000\u0000\u0000`).join('');

describe.skipIf(!haveFlask)('a body given as text that Python reads as JSON and policy as text', () => {
  it.each([
    ['NaN beside the amount', '{"amount": 5000, "fee": NaN}', undefined],
    ['Infinity as the amount', '{"amount": Infinity}', undefined],
    ['-Infinity beside the amount', '[{"amount": 5000, "credit": -Infinity}]', 'text/plain'],
    ['a byte-order mark before it', '\ufeff{"amount": 5000}', undefined],
    ['UTF-16LE', utf16le('{"amount": 5000}'), undefined],
    ['UTF-16BE', utf16be('{"amount": 5000}'), 'text/plain'],
    ['UTF-32LE', utf32le('{"amount": 5000}'), undefined],
  ])('%s: refused with 422 INPUT_UNPARSEABLE, nothing sent', async (_what, text, type) => {
    const { res, read } = await pay(text, type);
    expect(res.status, `${JSON.stringify(res.body)}; Python read ${JSON.stringify(read.map((r) => r.json))}`).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/Python's json/);
    expect(read).toEqual([]);
  });

  it('an integer a double cannot hold: refused with 422 INPUT_UNPARSEABLE, nothing sent', async () => {
    const { res, read } = await pay('{"account": 9007199254740993, "amount": 5}');
    expect(res.status, `${JSON.stringify(res.body)}; Python read ${JSON.stringify(read.map((r) => r.json))}`).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/9007199254740993/);
    expect(read).toEqual([]);
  });

  it('strict JSON text, integers a double holds, and text that only mentions NaN run as before; Python reads what policy judged', async () => {
    const ok = await pay('{"amount": 5, "account": 9007199254740992, "fee": 0.1}');
    expect(ok.res.body.status, JSON.stringify(ok.res.body)).toBe('succeeded');
    expect(ok.read.map((r) => JSON.parse(r.json!))).toEqual([{ amount: 5, account: 9007199254740992, fee: 0.1 }]);
    const big = await pay('{"amount": 5000}');
    expect(big.res.status, JSON.stringify(big.res.body)).toBe(403);
    expect(big.res.body.error.rules).toContain('small-payments-only');
    const text = await pay('NaN is not a number: {"amount": 5000}', 'text/plain');
    expect(text.res.body.status, JSON.stringify(text.res.body)).toBe('succeeded');
    expect(text.read.map((r) => r.json)).toEqual([null]);
  });
});

// Policy reads JSON text as JSON whatever its Content-Type; under a form Content-Type a form reader reads the same
// bytes as form fields, which a string in the JSON can name. The JSON given as a value was refused so; as text it ran.
describe.skipIf(!haveFlask)('JSON text sent under a form Content-Type', () => {
  it.each([
    ['{"memo": "x&amount=5000&z="}', 'application/x-www-form-urlencoded'],
    ['[{"memo": "x&amount=5000&z="}]', 'application/x-www-form-urlencoded; charset=utf-8'],
    ['{"memo": "x;amount=5000;z="}', 'application/x-www-form-urlencoded'],
  ])('%j (%s), whose text names a field the JSON has not: refused with 422 INPUT_UNPARSEABLE, nothing sent', async (text, type) => {
    const { res, read } = await pay(text, type);
    expect(res.status, `${JSON.stringify(res.body)}; Flask read ${JSON.stringify(read.map((r) => r.form))}`).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(read).toEqual([]);
  });

  it('JSON text whose form reading is one field is refused too, as the same JSON given as a value is: Flask reads none of its fields', async () => {
    const { res, read } = await pay('{"memo": "fish and chips = lunch"}', 'application/x-www-form-urlencoded');
    expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect(read).toEqual([]);
  });
});

// Policy reads text as form fields under the action's own form Content-Type (core/action.ts); one the connection
// sets alone made `amount=5000` a string to policy, sent under it to an upstream that read the field amount.
describe.skipIf(!haveFlask)('form text under the connection\'s form Content-Type', () => {
  it('without the action declaring it: refused with 422 INPUT_UNPARSEABLE, nothing sent', async () => {
    const { res, read } = await pay('amount=5000', undefined, 'form-payments');
    expect(res.status, `${JSON.stringify(res.body)}; Flask read ${JSON.stringify(read.map((r) => r.form))}`).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(read).toEqual([]);
  });

  it('declared by the action too: judged by its fields (a list each, which the rule on a number cannot compare: denied), as the upstream reads them', async () => {
    const big = await pay('amount=5000', 'application/x-www-form-urlencoded', 'form-payments');
    expect(big.res.body.error?.rules, JSON.stringify(big.res.body)).toContain('small-payments-only');
    expect(big.read).toEqual([]);
    const memo = await pay('memo=lunch', 'application/x-www-form-urlencoded', 'form-payments');
    expect(memo.res.body.status, JSON.stringify(memo.res.body)).toBe('succeeded');
    expect(memo.read.map((r) => r.form)).toEqual([{ memo: ['lunch'] }]);
  });
});
