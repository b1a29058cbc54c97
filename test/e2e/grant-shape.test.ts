/**
 * What a grant covers, exactly. A `vary` path lets a value differ, never what kind of value it is: a reviewer who
 * granted the next refunds "of other amounts" approved numbers, not an object, a list or a string standing where the
 * amount stood, which the target may read as something else entirely. And the granted path is its shape as written:
 * another spelling of it (percent-encoded, a trailing slash, a dot segment, a query) is held or denied like any action.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(`connections:
  - name: billing
    kind: http
    url: ${upstream.url}/billing
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 10, maxDuration: 1h, vary: [body.amount] }
`);
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const refund = (amount: unknown, order = 'o-7', path = '/refunds') => ({ connection: 'billing', input: { method: 'POST', path, body: { amount, order } }, reason: 'refund a double charge' });
const refunds = () => upstream.calls.filter((c) => c.url === '/billing/refunds').length;

describe('a grant whose vary path held a number', () => {
  it('covers other numbers, and holds an object, a list, a string, a boolean or null in its place', async () => {
    const held = await gw.as('deploy-bot', '/v1/actions', { body: refund(5) });
    expect(held.status).toBe(202);
    const ok = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 9, for: '1h' } } });
    expect(ok.status).toBe(200);
    const grantId = ok.body.grant.id as string;
    await eventually(async () => ((await gw.deps.store.getRequest(held.body.id))?.status === 'succeeded' ? true : undefined));

    expect((await gw.as('deploy-bot', '/v1/actions', { body: refund(7) })).body.grantedBy).toEqual({ grantId, use: 1, of: 9 });

    for (const other of [{ value: 7, account: 'acct_evil' }, [7, 700000], '7', true, null]) {
      const before = refunds();
      const res = await gw.as('deploy-bot', '/v1/actions', { body: refund(other) });
      expect(res.status, JSON.stringify(other)).toBe(202);
      expect(res.body.grantedBy).toBeUndefined();
      expect((await storedAudit(gw.deps.store, res.body.id)).map((e) => e.type)).toEqual(['request.submitted', 'request.held']);
      expect(refunds()).toBe(before);
    }
    expect((await gw.deps.store.getGrant(grantId))?.used).toBe(1);
  });

  it('covers the granted path only as written: another spelling of it (encoded, a trailing slash, a dot segment, a query) is not its shape', async () => {
    const held = await gw.as('deploy-bot', '/v1/actions', { body: refund(11, 'o-8') });
    expect(held.status).toBe(202);
    const ok = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 9, for: '1h' } } });
    const grantId = ok.body.grant.id as string;
    await eventually(async () => ((await gw.deps.store.getRequest(held.body.id))?.status === 'succeeded' ? true : undefined));
    const before = upstream.calls.length;
    for (const path of ['/%72efunds', '/refunds/', '/./refunds', '/refunds?all=1', '//refunds']) {
      const res = await gw.as('deploy-bot', '/v1/actions', { body: refund(12, 'o-8', path) });
      expect(res.body.grantedBy, path).toBeUndefined();
      expect(['pending', 'denied'], path).toContain(res.body.status ?? 'denied');
    }
    expect(upstream.calls.length).toBe(before);
    expect((await gw.deps.store.getGrant(grantId))?.used).toBe(0);
  });
});
