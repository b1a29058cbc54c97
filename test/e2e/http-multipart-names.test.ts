/**
 * A multipart part's name as Werkzeug (Flask) reads it. The gateway refuses a
 * part named `_method` (an HTML-form app reads it as the method), and names a
 * query parameter and a part both, so the part names it reads must be every
 * name an upstream reads. Werkzeug's `parse_options_header` reads more than
 * `name="…"`: an unquoted name only up to its first character that is not a
 * token's (`name=_method x`, `name=_method,x` are `_method`), an RFC 2231
 * extended name after any charset and language (`name*=utf-8'en.x'%5Fmethod`),
 * and RFC 2231 continuations joined (`name*0="_met"; name*1="hod"`, and
 * `name="_met"; name*1="hod"` too). Each of those once reached a Flask app that
 * ran a DELETE the policy denies, on a POST the policy allowed.
 *
 * The upstream is a real Flask app (test/support/flask-echo-upstream.py), so
 * what it read is Werkzeug's reading, not a guess at it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveFlask, startFlaskUpstream, type FlaskUpstream } from '../support/flask-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

// Without Flask there is no reader to compare with (field-names.test.ts still runs).
let flask: FlaskUpstream;
let gw: TestGateway;
const calls = () => flask.calls();

beforeAll(async () => {
  if (!haveFlask) return;
  flask = await startFlaskUpstream();
  gw = await startTestGateway(`connections:
  - { name: accounts, kind: http, url: "${flask.url}" }
policy:
  default: deny
  rules:
    - id: update-accounts
      when: facts.http.method == "POST" && facts.http.path.startsWith("/accounts/")
      effect: allow
    - id: never-delete
      when: facts.http.method == "DELETE"
      effect: deny
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

/** A POST to /accounts/7 of one multipart part, its Content-Disposition parameters as given. */
async function post(disposition: string, value: string, path = '/accounts/7') {
  const before = (await calls()).length;
  const body = `--b\r\nContent-Disposition: form-data; ${disposition}\r\n\r\n${value}\r\n--b--\r\n`;
  const reason = `multipart ${disposition}`;
  const res = await gw.as('deploy-bot', '/v1/actions', {
    body: { connection: 'accounts', input: { method: 'POST', path, headers: { 'Content-Type': 'multipart/form-data; boundary=b' }, body }, reason },
  });
  return { res, reason, read: (await calls()).slice(before) };
}

describe.skipIf(!haveFlask)('a multipart part name Werkzeug reads as _method', () => {
  it.each([
    'name=_method x',
    'name=_method,x',
    'name=_method/x',
    'name=_method=x',
    "name*=utf-8'en.x'%5Fmethod",
    "name*=utf-8'a+b'%5Fmethod",
    'name*0="_met"; name*1="hod"',
    "name*0*=utf-8''%5Fme; name*1=thod",
    'name="_met"; name*1="hod"',
    // Werkzeug 2.2 (Debian 12's python3-werkzeug; COUNTERSIGN_PYTHON picks the Python): a space before *=, a quoted
    // parameter name, a name in UTF-7.
    "name *=utf-8''_method",
    '"name"=_method',
    "name*=utf-7''+AF8-method",
  ])('%s (a POST the policy allows, run by Flask as a DELETE it denies) → 422, nothing sent or recorded', async (disposition) => {
    const { res, reason, read } = await post(disposition, 'DELETE');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(read).toEqual([]);
    const list = await gw.as('deploy-bot', '/v1/requests');
    expect(JSON.stringify(list.body)).not.toContain(reason);
  });

  it('a part name split into continuations is refused whatever it spells: the query names id, the part id too', async () => {
    const { res, read } = await post('name*0="i"; name*1="d"', '8', '/accounts/7?id=7');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(read).toEqual([]);
  });
});

describe.skipIf(!haveFlask)('part names every reader reads alike', () => {
  it.each([['name="note"'], ['name=note'], ["name*=utf-8''note"], ["name*=utf-8'en'%6Eote"]])('%s runs, and Flask reads the part note', async (disposition) => {
    const { res, read } = await post(disposition, 'hello');
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.body).toEqual({ method: 'POST', path: '/accounts/7', args: {}, form: { note: ['hello'] }, json: null });
    expect(read).toEqual([{ method: 'POST', path: '/accounts/7', args: {}, form: { note: ['hello'] }, json: null }]);
  });
});
