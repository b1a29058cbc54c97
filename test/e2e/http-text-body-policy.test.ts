/**
 * A JSON body given as text. Policy read `action.input.body` as the string
 * the agent wrote, so a rule on a field of the body, guarded as CEL asks
 * (`has(action.input.body.amount) && action.input.body.amount > 1000`),
 * found no field in `"{\"amount\":5000}"` and let it through, while the
 * upstream parsed the text and paid 5000. A body given as text that is a JSON
 * object or array (whatever its Content-Type: Go's decoder, and many APIs,
 * read the bytes as JSON without looking) is now read by policy as that
 * value, its keys folded as a JSON body's are; it is still sent as written.
 * So is a form sent under a form Content-Type (`amount=5000`, which Rails,
 * PHP, Spring, Express and Flask read as the field amount): policy reads it
 * as its fields, each a list of its values, as `facts.http.query`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - { name: payments, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: pay
      when: facts.http.method == "POST" && facts.http.path == "/payments"
      effect: allow
    - id: small-payments-only
      when: has(action.input.body.amount) && action.input.body.amount > 1000
      effect: deny
    - id: no-refund-memos
      when: has(action.input.body.memo) && action.input.body.memo == ["refund"]
      effect: deny
    - id: no-refund-batches
      when: type(action.input.body) == list && action.input.body.exists(p, has(p.refund))
      effect: deny
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function pay(body: unknown, contentType?: string) {
  const before = upstream.calls.length;
  const input = { method: 'POST', path: '/payments', ...(contentType ? { headers: { 'content-type': contentType } } : {}), body };
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'payments', input, reason: 'pay' } });
  return { res, sent: upstream.calls.slice(before) };
}

describe('a JSON body given as text', () => {
  it.each([
    ['{"amount":5000}', 'application/json', 'small-payments-only'],
    ['{"amount":5000}', 'Application/JSON; charset=utf-8', 'small-payments-only'],
    [' {"AMOUNT":5000,"to":"x"}', undefined, 'small-payments-only'],
    ['[{"amount":1,"refund":true}]', 'application/json', 'no-refund-batches'],
  ])('%s (Content-Type %s) is judged as the JSON it is: denied by %s, nothing sent', async (text, type, rule) => {
    const { res, sent } = await pay(text, type);
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.error.rules).toContain(rule);
    expect(sent).toEqual([]);
  });

  it('one the rules allow runs, and the upstream gets the text as written', async () => {
    const text = '{"amount": 5.0, "to": "x"}';
    const { res, sent } = await pay(text, 'application/json');
    expect(res.body.status, JSON.stringify(res.body)).toBe('succeeded');
    expect(sent.map((c) => c.body)).toEqual([text]);
  });

  it('a form under a form Content-Type is judged by its fields: amount=5000 is held to the rule on amount, nothing sent', async () => {
    for (const form of ['amount=5000', 'to=x&AMOUNT=5000', 'amount[]=5000']) {
      const { res, sent } = await pay(form, 'application/x-www-form-urlencoded');
      expect(res.status, `${form} ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.error.rules).toContain('small-payments-only');
      expect(sent).toEqual([]);
    }
  });

  it('a form the rules allow runs as written; its fields are lists of values to policy, as a query is', async () => {
    const { res, sent } = await pay('to=x&memo=a&memo=b', 'application/x-www-form-urlencoded');
    expect(res.body.status, JSON.stringify(res.body)).toBe('succeeded');
    expect(sent.map((c) => c.body)).toEqual(['to=x&memo=a&memo=b']);
    const memo = await pay('to=x&memo=refund', 'application/x-www-form-urlencoded');
    expect(memo.res.status, JSON.stringify(memo.res.body)).toBe(403);
    expect(memo.res.body.error.rules).toContain('no-refund-memos');
    expect(memo.sent).toEqual([]);
  });

  it('text that is not JSON stays text to policy, as before', async () => {
    const { res, sent } = await pay('amount is 5000', 'text/plain');
    expect(res.body.status, JSON.stringify(res.body)).toBe('succeeded');
    expect(sent.map((c) => c.body)).toEqual(['amount is 5000']);
  });

  it('JSON text nested past the bound is refused as any JSON an agent sends: 400 INPUT_TOO_DEEP, nothing sent', async () => {
    const { res, sent } = await pay(`${'['.repeat(100)}${']'.repeat(100)}`, 'application/json');
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('INPUT_TOO_DEEP');
    expect(sent).toEqual([]);
  });
});
