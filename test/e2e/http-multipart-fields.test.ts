/**
 * A multipart/form-data body is fields to its upstream (Flask's request.form, multer, Rails, PHP), so it is fields to
 * policy too. As text, `has(action.input.body.amount)` was false: a rule holding large payouts for approval matched no
 * multipart body, and `amount=5000` sent as multipart ran at once under the rule allowing payouts, Flask reading the
 * amount policy never saw. A multipart body is now read as its fields where every reader reads it alike, and refused
 * (422 INPUT_UNPARSEABLE, nothing sent) where they may not.
 *
 * The upstream is a real Flask app (test/support/flask-echo-upstream.py).
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
  - { name: payouts, kind: http, url: "${flask.url}" }
policy:
  default: deny
  rules:
    - id: payouts
      when: facts.http.method == "POST" && facts.http.path == "/payouts"
      effect: allow
    - id: large-payouts
      when: has(action.input.body.amount) && action.input.body.amount.exists(a, int(a) > 1000)
      effect: approve
      approvers: [{ groups: [finance], count: 1 }]
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

const part = (name: string, value: string) => `--b0undary\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const pay = (body: string, type = 'multipart/form-data; boundary=b0undary') =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection: 'payouts', input: { method: 'POST', path: '/payouts', headers: { 'Content-Type': type }, body }, reason: 'pay' } });

describe.skipIf(!haveFlask)('a multipart body is read by policy as the fields its upstream reads', () => {
  it('a large payout sent as multipart is held for approval, and Flask is not called', async () => {
    const before = (await flask.calls()).length;
    const res = await pay(`${part('memo', 'refund')}${part('amount', '5000')}--b0undary--\r\n`);
    expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([202, 'pending']);
    expect((await flask.calls()).slice(before)).toEqual([]);
  });

  it('a small one runs, and Flask reads the fields policy judged', async () => {
    const before = (await flask.calls()).length;
    const res = await pay(`${part('amount', '20')}${part('memo', 'tip')}--b0undary--`);
    expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([200, 'succeeded']);
    expect((await flask.calls()).slice(before).map((c) => c.form)).toEqual([{ amount: ['20'], memo: ['tip'] }]);
  });

  it('an unquoted boundary with a character a token cannot hold is refused: Werkzeug reads boundary=b0undary=x as b0undary', async () => {
    const before = (await flask.calls()).length;
    // Policy's boundary b0undary=x: one part, memo. Werkzeug's b0undary: the part amount=5000 inside memo's value.
    const body = '--b0undary=x\r\nContent-Disposition: form-data; name="memo"\r\n\r\nx\r\n--b0undary\r\nContent-Disposition: form-data; name="amount"\r\n\r\n5000\r\n--b0undary--\r\n--b0undary=x--';
    const res = await pay(body, 'multipart/form-data; boundary=b0undary=x');
    expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect((await flask.calls()).slice(before)).toEqual([]);
  });

  it('a boundary also given in RFC 2231 form is refused: Werkzeug reads boundary*= (or boundary*0=) over boundary=', async () => {
    const before = (await flask.calls()).length;
    // Policy's boundary b0undary: one part, memo. Werkzeug's c0ntent: the part amount=5000 inside memo's value.
    const body = `${part('memo', 'x\r\n--c0ntent\r\nContent-Disposition: form-data; name="amount"\r\n\r\n5000\r\n--c0ntent--\r\n')}--b0undary--`;
    for (const type of ["multipart/form-data; boundary=b0undary; boundary*=utf-8''c0ntent", 'multipart/form-data; boundary=b0undary; boundary*0=c0ntent']) {
      const res = await pay(body, type);
      expect([res.status, res.body.error?.code], `${type}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
    }
    expect((await flask.calls()).slice(before)).toEqual([]);
  });

  it('a multipart body readers may read apart is refused before policy, nothing sent', async () => {
    const before = (await flask.calls()).length;
    const bodies: [string, string?][] = [
      // Bare line feeds: Werkzeug splits parts at them; a strict reader reads one part.
      [`--b0undary\nContent-Disposition: form-data; name="memo"\n\nx\n--b0undary\nContent-Disposition: form-data; name="amount"\n\n5000\n--b0undary--`],
      // The delimiter inside a part after a bare line feed.
      [`${part('memo', `x\n--b0undary\r\nContent-Disposition: form-data; name="amount"\r\n\r\n5000`)}--b0undary--`],
      // A preamble, a name with more after it, the name twice, another header, no boundary, two boundaries.
      [`junk\r\n${part('amount', '5000')}--b0undary--`],
      ['--b0undary\r\nContent-Disposition: form-data; name=memo amount\r\n\r\n5000\r\n--b0undary--'],
      ['--b0undary\r\nContent-Disposition: form-data; name="memo"; name*=utf-8\'\'amount\r\n\r\n5000\r\n--b0undary--'],
      ['--b0undary\r\nContent-Disposition: form-data; name="amount"\r\nContent-Transfer-Encoding: base64\r\n\r\nNTAwMA==\r\n--b0undary--'],
      [`${part('amount', '5000')}--b0undary--`, 'multipart/form-data'],
      [`${part('amount', '5000')}--b0undary--`, 'multipart/form-data; boundary=b0undary; boundary=other'],
    ];
    for (const [body, type] of bodies) {
      const res = await pay(body, type);
      expect([res.status, res.body.error?.code], `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
    }
    expect((await flask.calls()).slice(before)).toEqual([]);
  });
});
