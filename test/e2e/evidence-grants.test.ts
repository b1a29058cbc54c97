/**
 * The evidence report of actions a scoped grant approved, over a log the real gateway wrote: alice approves a held
 * refund with a grant of two uses, and the next refund runs on it without anyone reviewing it. The report must say
 * so — which grant, given by whom on which request, which use of how many — and must not count it as a human
 * decision (a decision "after 0 s" with no approver named, as if someone had approved it on sight).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const T0 = Date.parse('2026-05-04T09:00:00.000Z');
const clock = manualClock(T0);
const principals = [...DEFAULT_PRINCIPALS, { id: 'gina', kind: 'human' as const, groups: [], roles: ['auditor' as const] }];
const ids: Record<string, string> = {};
let upstream: Upstream;
let gw: TestGateway;
let grantId = '';

const body = (url: string) => `connections:
  - { name: billing, kind: http, url: "${url}", tags: { env: prod } }
policy:
  default: deny
  rules:
    - id: refunds
      when: connection.name == "billing" && facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 2, maxDuration: 1h, vary: [body.amount] }
`;

const refund = (amount: number) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing', input: { method: 'POST', path: '/refunds', body: { amount } }, reason: `refund ${amount}` } });
const settled = (id: string) => eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined));

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(body(upstream.url), { principals, clock });
  const first = await refund(10);
  expect(first.status).toBe(202);
  ids['granting'] = first.body.id;
  clock.advance(60_000);
  const approved = await gw.as('alice', `/v1/requests/${ids['granting']}/reviews`, { body: { verdict: 'approve', grant: { uses: 2, for: '30m' } } });
  expect(approved.status).toBe(200);
  grantId = approved.body.grant.id;
  await settled(ids['granting']!);
  clock.advance(60_000);
  const second = await refund(20);
  ids['granted'] = second.body.id;
  await settled(ids['granted']!);
  clock.advance(60_000);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function report(from = T0 - 60_000) {
  const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(clock.now().getTime() + 60_000).toISOString(), framework: 'soc2', format: 'json' });
  const res = await gw.as('gina', `/v1/evidence/report?${q}`);
  expect(res.status).toBe(200);
  return res.body;
}

describe('the evidence report of an action a scoped grant approved', () => {
  it('names the grant, who gave it on which request and which use it was; the granting request names none', async () => {
    const r = await report();
    const granted = r.actions.find((a: { id: string }) => a.id === ids['granted']);
    expect(granted).toMatchObject({ outcome: 'succeeded', approvers: [], grant: { id: grantId, grantedOn: ids['granting'], by: ['alice'], use: 1, of: 2 } });
    expect(r.actions.find((a: { id: string }) => a.id === ids['granting'])).toMatchObject({ approvers: ['alice'], grant: null });
  });

  it('names who gave a grant given before the period, from its grant.created event in the log', async () => {
    const r = await report(T0 + 90_000);
    expect(r.actions.map((a: { id: string }) => a.id)).toEqual([ids['granted']]);
    expect(r.actions[0]).toMatchObject({ grant: { id: grantId, grantedOn: ids['granting'], by: ['alice'], use: 1, of: 2 } });
  });

  it('counts the grant’s use apart from the human decisions: no decision "after 0 s" in the times', async () => {
    const r = await report();
    expect(r.sod).toMatchObject({ approvedRequests: 2, grantApprovedRequests: 1, approvalReviews: 1 });
    expect(r.sod.timeToDecision).toEqual({ count: 1, medianMs: 60_000, p90Ms: 60_000, maxMs: 60_000 });
  });

  it('says on the HTML report that a grant approved it, and whose', async () => {
    const q = new URLSearchParams({ from: new Date(T0 - 60_000).toISOString(), to: new Date(clock.now().getTime() + 60_000).toISOString(), framework: 'soc2', format: 'html' });
    const res = await fetch(`${gw.url}/v1/evidence/report?${q}`, { headers: { authorization: `Bearer ${gw.keys['gina']}` } });
    const html = await res.text();
    expect(html).toContain(`grant <code>${grantId}</code> given by alice on <code>${ids['granting']}</code> (use 1 of 2)`);
  });
});
