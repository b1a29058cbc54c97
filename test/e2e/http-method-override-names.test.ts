/**
 * Method-override query parameters under the names some frameworks use
 * besides `_method`: Flask's snippet 38 (the MethodRewriteMiddleware many
 * Flask apps still copy) makes the query's `__METHOD_OVERRIDE__` the method
 * of any request, a GET included, and Plack's MethodOverride and Catalyst's
 * REST-for-browsers read `x-tunneled-method`. Under the README's policy
 * (reads allowed, writes held), `GET /items/7?__METHOD_OVERRIDE__=DELETE`
 * was judged a read and run: Flask deleted item 7 with nobody asked. Such a
 * parameter is now refused with `422 INPUT_UNPARSEABLE` like `_method`,
 * unless the connection's `allow.query` names it.
 * The upstream is a real Flask app with that middleware (test/support/flask-echo-upstream.py).
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
  - { name: shop, kind: http, url: "${flask.url}" }
  - { name: shop-tunnel, kind: http, url: "${flask.url}", allow: { query: [__METHOD_OVERRIDE__] } }
policy:
  default: deny
  rules:
    - id: reads
      when: "!facts.writes"
      effect: allow
    - id: writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre] }]
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
});

async function send(connection: string, input: Record<string, unknown>) {
  const before = (await flask.calls()).length;
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'method names' } });
  return { res, read: (await flask.calls()).slice(before) };
}

describe.skipIf(!haveFlask)('a method-override query parameter under another name than _method', () => {
  it.each([
    [{ method: 'GET', path: '/items/7?__METHOD_OVERRIDE__=DELETE' }],
    [{ method: 'GET', path: '/items/7', query: { __METHOD_OVERRIDE__: 'DELETE' } }],
    [{ method: 'GET', path: '/items/7?__method_override__=DELETE' }],
    [{ method: 'GET', path: '/items/7?x-tunneled-method=DELETE' }],
    [{ method: 'POST', path: '/items?X-Tunneled-Method=DELETE' }],
    [{ method: 'POST', path: '/items', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x-tunneled-method=DELETE' }],
  ])('%j → 422 INPUT_UNPARSEABLE, nothing sent', async (input) => {
    const { res, read } = await send('shop', input);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/method/);
    expect(read).toEqual([]);
  });

  it('a plain GET is a read: allowed, and Flask runs it as a GET', async () => {
    const { res, read } = await send('shop', { method: 'GET', path: '/items/7?sort=name' });
    expect(res.body.status, JSON.stringify(res.body)).toBe('succeeded');
    expect(read.map((r) => r.method)).toEqual(['GET']);
  });

  it('a connection whose allow.query names it lets it through, judged by the method written (the operator chose so)', async () => {
    const { res, read } = await send('shop-tunnel', { method: 'POST', path: '/items/7?__METHOD_OVERRIDE__=DELETE' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.status).toBe('pending');
    expect(read).toEqual([]);
  });
});
