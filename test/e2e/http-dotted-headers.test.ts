/**
 * Header names are matched as servers read them: any case, `_` as `-`, and —
 * new here — `.` as `-` too. PHP registers every server variable through
 * php_register_variable, which turns `.` (and space) in a name into `_`; a
 * FastCGI front that passes the header name as it came (Caddy, and so
 * FrankenPHP, turns only `-` and space into `_`) makes `X.HTTP.Method.Override`
 * `$_SERVER['HTTP_X_HTTP_METHOD_OVERRIDE']`, which Symfony and Laravel honour
 * on a POST. So a dotted spelling must be refused, dropped or counted as a
 * duplicate exactly as the dashed one is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const TOKEN = 'dot-cred-Vb7Lq2Xz9';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(
    `connections:
  - name: app
    kind: http
    url: ${upstream.url}
    headers: { X-Api-Key: "\${TOKEN}" }
policy:
  default: deny
  rules:
    - id: create-orders
      when: facts.http.method == "POST" && facts.http.path == "/orders"
      effect: allow
`,
    { env: { TOKEN } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function received(headers: Record<string, string>) {
  const before = upstream.calls.length;
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app', input: { method: 'POST', path: '/orders', headers, body: { qty: 1 } }, reason: 'probe' } });
  return { res, calls: upstream.calls.slice(before) };
}

describe('a header name spelt with dots', () => {
  it.each(['X.HTTP.Method.Override', 'x.http.method', 'X.Original.URL', 'X.Forwarded.Host'])('%s (a POST the policy allows, run by PHP as another method or path) → 422, nothing sent', async (name) => {
    const { res, calls } = await received({ [name]: name.toLowerCase().includes('method') ? 'DELETE' : '/admin' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });

  it('X.Remote.User, X.Forwarded.For and X.Api.Key (beside the configured X-Api-Key) never reach the upstream', async () => {
    const { res, calls } = await received({ 'X.Remote.User': 'admin', 'X.Forwarded.For': '10.0.0.1', 'X.Api.Key': 'agent-own-key', 'X-Request-Id': 'kept' });
    expect(res.body.status).toBe('succeeded');
    const h = calls[0]!.headers;
    for (const name of ['x.remote.user', 'x.forwarded.for', 'x.api.key']) expect(h[name], name).toBeUndefined();
    expect(h['x-api-key']).toBe(TOKEN);
    expect(h['x-request-id']).toBe('kept');
  });

  it('X-Env and X.Env together (one variable to PHP, two keys to policy) → 422, nothing sent', async () => {
    const { res, calls } = await received({ 'X-Env': 'staging', 'X.Env': 'prod' });
    expect(res.status).toBe(422);
    expect(calls).toEqual([]);
  });
});
