/**
 * Policy reads a text body as form fields where the action's Content-Type is a form type. It found that type
 * anywhere in the header's value, so `text/plain; note=application/x-www-form-urlencoded` (or
 * `application/x-www-form-urlencoded-v2`) had `dry_run=true&amount=5000` read as fields: a rule allowing dry runs
 * allowed it, and Flask (Werkzeug), reading the media type `text/plain`, parsed no form and ran the payout for real.
 * A form is now read as one only where the media type itself is the form type; text that reads as a form under any
 * other type is refused before policy (422 INPUT_UNPARSEABLE), nothing sent; so is a form the action declares on a
 * connection whose own Content-Type (which wins, and which Flask reads) is another.
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
  - { name: text-payouts, kind: http, url: "${flask.url}", headers: { Content-Type: "text/plain" } }
policy:
  default: deny
  rules:
    - id: dry-runs
      when: facts.http.method == "POST" && facts.http.path == "/payouts" && has(action.input.body.dry_run) && action.input.body.dry_run == ["true"]
      effect: allow
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

const pay = (contentType: string, connection = 'payouts') =>
  gw.as('deploy-bot', '/v1/actions', {
    body: { connection, input: { method: 'POST', path: '/payouts', headers: { 'Content-Type': contentType }, body: 'dry_run=true&amount=5000' }, reason: 'rehearse' },
  });

describe.skipIf(!haveFlask)('a form is read as fields only under the form type itself', () => {
  it('a form under a type that only names the form type somewhere is refused, and Flask is not called', async () => {
    const before = (await flask.calls()).length;
    for (const type of ['text/plain; note=application/x-www-form-urlencoded', 'application/x-www-form-urlencoded-v2', 'text/plain, application/x-www-form-urlencoded', 'x-application/x-www-form-urlencoded']) {
      const res = await pay(type);
      expect([res.status, res.body.error?.code], `${type}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
    }
    // The connection's own Content-Type wins, and is what Flask reads: a form the action declares goes as text/plain.
    const res = await pay('application/x-www-form-urlencoded', 'text-payouts');
    expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect((await flask.calls()).slice(before)).toEqual([]);
  });

  it('a form under the form type (any case, with parameters) runs, and Flask reads the fields policy judged', async () => {
    const before = (await flask.calls()).length;
    for (const type of ['application/x-www-form-urlencoded', 'Application/X-WWW-Form-Urlencoded; charset=utf-8']) {
      const res = await pay(type);
      expect([res.status, res.body.status], `${type}: ${JSON.stringify(res.body)}`).toEqual([200, 'succeeded']);
    }
    const read = (await flask.calls()).slice(before);
    expect(read.map((r) => r.form)).toEqual([
      { dry_run: ['true'], amount: ['5000'] },
      { dry_run: ['true'], amount: ['5000'] },
    ]);
  });
});
