/**
 * Paths as Flask (Werkzeug) reads them.
 *
 * A path segment of digits other than ASCII's. Python's int() reads every
 * Unicode decimal digit (`٧`, Arabic-Indic seven; `७`, Devanagari), and so
 * does Werkzeug's `<int:id>` converter: Flask deletes entry 1 for
 * `DELETE /ledger/%D9%A1`, which policy reads as another path than
 * `/ledger/1` (Java's Long.parseLong, and so Spring's `@PathVariable long`,
 * reads them too). Such digits are NFKC-stable, so the normalisation check did
 * not refuse them; they are now refused like the characters an upstream folds
 * into ASCII letters.
 *
 * A `+` escaped: every server that decodes the path (Werkzeug, Go, Spring)
 * reads `%2B` as `+`, so Flask deleted user `a+b@x.com` for
 * `DELETE /users/a%2Bb@x.com` while a rule on `/users/a+b@x.com` never saw
 * it. Policy now reads `%2B` as `+`; the upstream still gets it as written,
 * for servers that read a raw `+` as a space.
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
  - { name: ledger, kind: http, url: "${flask.url}" }
policy:
  default: deny
  rules:
    - id: delete-entries
      when: facts.http.method == "DELETE" && facts.http.path.matches("^/ledger/[^/]+$")
      effect: allow
    - id: keep-the-opening-balance
      when: facts.http.path == "/ledger/1"
      effect: deny
    - id: delete-users
      when: facts.http.method == "DELETE" && facts.http.path.startsWith("/users/")
      effect: allow
    - id: keep-billing
      when: facts.http.path == "/users/a+b@x.com"
      effect: deny
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

async function remove(path: string) {
  const before = (await flask.calls()).length;
  const reason = `delete ${path}`;
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ledger', input: { method: 'DELETE', path }, reason } });
  return { res, reason, read: (await flask.calls()).slice(before) };
}

describe.skipIf(!haveFlask)('a path segment of non-ASCII decimal digits', () => {
  it.each([
    ['/ledger/%D9%A1', 'Arabic-Indic one'],
    ['/ledger/%DB%B1', 'extended Arabic-Indic one'],
    ['/ledger/%E0%A5%A7', 'Devanagari one'],
    ['/ledger/%E1%9F%A1', 'Khmer one'],
  ])('%s (%s, entry 1 to Flask) → 422, nothing sent or recorded', async (path) => {
    const { res, reason, read } = await remove(path);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/digit/);
    expect(read).toEqual([]);
    const list = await gw.as('deploy-bot', '/v1/requests');
    expect(JSON.stringify(list.body)).not.toContain(reason);
  });

  it('ASCII digits are judged as written: /ledger/1 is denied, /ledger/2 runs and Flask deletes entry 2', async () => {
    const denied = await remove('/ledger/1');
    expect(denied.res.status).toBe(403);
    expect(denied.res.body.error.code).toBe('POLICY_DENIED');
    expect(denied.read).toEqual([]);
    const ran = await remove('/ledger/2');
    expect(ran.res.body.status).toBe('succeeded');
    expect(ran.read).toEqual([{ method: 'DELETE', path: '/ledger/2', args: {}, form: {}, id: 2 }]);
  });
});

describe.skipIf(!haveFlask)('a + escaped as %2B', () => {
  it('is the + policy judges: /users/a%2Bb@x.com (user a+b@x.com to Flask) is denied by the rule on /users/a+b@x.com, nothing sent', async () => {
    for (const path of ['/users/a+b@x.com', '/users/a%2Bb@x.com', '/users/a%2bb@x.com']) {
      const { res, read } = await remove(path);
      expect(res.status, path).toBe(403);
      expect(res.body.error.code).toBe('POLICY_DENIED');
      expect(res.body.error.rules).toContain('keep-billing');
      expect(read).toEqual([]);
    }
  });

  it('another user runs; the upstream gets the path as written, and Flask reads the +', async () => {
    const { res, read } = await remove('/users/c%2Bd@x.com');
    expect(res.body.status).toBe('succeeded');
    expect(read).toEqual([{ method: 'DELETE', path: '/users/c+d@x.com', args: {}, form: {}, json: null }]);
  });
});
