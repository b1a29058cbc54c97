/**
 * The digest an approval is for binds the requesting principal's id, kind, the human it acts for and its groups,
 * not the issuer of its token: the same unconfigured id at two issuers asks with one digest. An approval is kept
 * with its request, and every path that carries one to another request binds the issuer too: a scoped grant bob
 * gave on a request of issuer A's `worker` approves its next request of that shape, never issuer B's `worker`
 * asking the same (the grant's shape binds the token identity, core/grant.ts); resuming a request by digest and an
 * Idempotency-Key are per issuer (identity-issuer-owners.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let a: TestIssuer;
let b: TestIssuer;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  [a, b, upstream] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b'), startUpstream()]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
connections:
  - { name: billing, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
`,
    { principals: DEFAULT_PRINCIPALS },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a?.close(), b?.close(), upstream?.close()]);
});

async function submit(issuer: TestIssuer, amount: number): Promise<{ status: number; body: any }> {
  const token = await issuer.sign({ aud: 'countersign', sub: 'worker' });
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'billing', input: { method: 'POST', path: '/refunds', body: { amount } }, reason: 'refund' }),
  });
  return { status: res.status, body: await res.json() };
}

describe('an approval of one issuer’s worker', () => {
  it('is for a digest the other issuer’s worker shares, yet its grant approves only the first issuer’s next request', async () => {
    const first = await submit(a, 10);
    expect(first.status).toBe(202);
    const ok = await gw.as('bob', `/v1/requests/${first.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '30m' } } });
    expect([ok.status, ok.body.grant?.uses]).toEqual([200, 3]);
    await eventually(async () => ((await gw.deps.store.getRequest(first.body.id))?.status === 'succeeded' ? true : undefined), 15_000);

    const fromB = await submit(b, 11);
    const fromA = await submit(a, 11);
    expect((await gw.deps.store.getRequest(fromB.body.id))?.digest).toBe((await gw.deps.store.getRequest(fromA.body.id))?.digest);
    expect([fromB.status, fromB.body.status, fromB.body.grantedBy]).toEqual([202, 'pending', undefined]);
    expect([fromA.status, fromA.body.status, fromA.body.grantedBy?.grantId]).toEqual([200, 'succeeded', ok.body.grant.id]);
    expect(upstream.calls.filter((c) => c.url === '/refunds' && JSON.parse(c.body).amount === 11)).toHaveLength(1);
  });
});
