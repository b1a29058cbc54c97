/**
 * A query parameter one framework reads under another name than the one
 * written: PHP reads `user.id`, `user id` and ` user_id` as `user_id`,
 * `user[id` as `user_id` and `debug[x]` as field `debug`; Rack 2 reads
 * `[debug]` as `debug`. Sent alone (no clash with the name policy looks
 * for), such a name walked around a rule on `facts.http.query["user_id"]` or
 * `"debug" in facts.http.query`: policy saw `user.id`, the upstream acted on
 * `user_id`. Policy now sees each parameter under its name as written and
 * under every name a framework reads it as, with the same values; the query
 * is sent upstream as written.
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
policy:
  default: deny
  rules:
    - id: users
      when: facts.http.method == "GET" && facts.http.path == "/users"
      effect: allow
    - id: only-user-1
      when: facts.http.path == "/users" && "user_id" in facts.http.query && facts.http.query["user_id"] != ["1"]
      effect: deny
    - id: no-debug
      when: '"debug" in facts.http.query'
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', ...input }, reason: 'readings' } });

describe('a query parameter a framework reads under another name', () => {
  it.each([
    [{ path: '/users?user.id=2' }, 'only-user-1'],
    [{ path: '/users?user+id=2' }, 'only-user-1'],
    [{ path: '/users?%20user_id=2' }, 'only-user-1'],
    [{ path: '/users?user[id=2' }, 'only-user-1'],
    [{ path: '/users?USER.ID=2' }, 'only-user-1'],
    [{ path: '/users', query: { 'user.id': '2' } }, 'only-user-1'],
    [{ path: '/users?debug[on]=1' }, 'no-debug'],
    [{ path: '/users?debug[]=1' }, 'no-debug'],
    [{ path: '/users?[debug]=1' }, 'no-debug'],
  ])('%j is judged under the name the upstream reads: denied, nothing sent', async (input, rule) => {
    const before = upstream.calls.length;
    const res = await send(input);
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(JSON.stringify(res.body)).toContain(rule);
    expect(upstream.calls.length).toBe(before);
  });

  it('a name every framework reads as written, or a reading the rules allow, runs and is sent as written', async () => {
    for (const [path, sent] of [
      ['/users?user_id=1', '/users?user_id=1'],
      ['/users?user.id=1', '/users?user.id=1'],
      ['/users?filter[status]=open&page=2', '/users?filter%5Bstatus%5D=open&page=2'],
    ] as const) {
      const res = await send({ path });
      expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(200);
      expect([sent, sent.replace(/%5B/g, '[').replace(/%5D/g, ']')]).toContain(upstream.calls.at(-1)!.url);
    }
  });
});
