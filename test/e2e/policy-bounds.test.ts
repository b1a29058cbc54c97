/**
 * One agent cannot stall the gateway for everyone through the policy: a
 * catastrophic-backtracking pattern on its string is decided by RE2 in linear
 * time, and nested comprehensions over its list are cut off by the
 * evaluation budget and denied with the reason. Meanwhile another agent's
 * allowed action runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(`connections:
  - name: api
    kind: http
    url: ${upstream.url}
policy:
  default: deny
  rules:
    - id: slugs-only
      when: "!facts.http.path.matches('^/([a-z0-9]+-?)+$')"
      effect: deny
      message: paths are slugs
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: distinct-batches
      when: >-
        facts.http.method == "POST" && has(action.input.body.items) &&
        action.input.body.items.all(a, action.input.body.items.all(b, action.input.body.items.all(c, a != "" || b != c)))
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const act = (who: string, input: unknown) => gw.as(who, '/v1/actions', { body: { connection: 'api', input, reason: 'bounds' } });

describe('a policy evaluation one agent makes costly', () => {
  it('is decided or cut off while another agent’s allowed action runs', async () => {
    const evilPath = `/${'a'.repeat(31)}!`;
    const items = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
    const [regex, nested, other] = await Promise.all([
      act('deploy-bot', { method: 'GET', path: evilPath }),
      act('deploy-bot', { method: 'POST', path: '/batches', body: { items } }),
      act('other-bot', { method: 'GET', path: '/status' }),
    ]);

    // RE2 decides the pattern: the path is no slug, the deny rule matches.
    expect(regex.status).toBe(403);
    expect(regex.body.error).toMatchObject({ code: 'POLICY_DENIED', message: 'paths are slugs', rules: ['slugs-only', 'reads'] });

    // The comprehensions exceed a bound: the rule fails to evaluate, which denies, and the audit log says why.
    expect(nested.status).toBe(403);
    expect(nested.body.error.code).toBe('POLICY_ERROR');
    expect(nested.body.error.message).toMatch(/^rule distinct-batches could not be evaluated: policy evaluation exceeded its (budget of 1000000 steps|time limit)$/);
    expect(await storedStatus(gw.deps.store, nested.body.error.requestId)).toBe('denied');
    const denied = (await storedAudit(gw.deps.store, nested.body.error.requestId)).find((e) => e.type === 'request.denied');
    expect(denied?.data).toMatchObject({ by: 'policy', code: 'POLICY_ERROR', message: nested.body.error.message, errors: [{ rule: 'distinct-batches' }] });

    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ status: 'succeeded', decision: { effect: 'allow', rules: ['reads'] } });
    expect(upstream.calls.map((c) => c.url)).toEqual(['/status']);
  });

  it('refuses an action too deep to evaluate where it enters, before policy runs (the policy bound is unit-tested in bounds.test.ts)', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const res = await act('deploy-bot', { method: 'POST', path: '/batches', body: deep });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INPUT_TOO_DEEP' });
  });
});
