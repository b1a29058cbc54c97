/**
 * Who may review, and what a review can still change: agents never, the
 * requester's side never, outsiders never, each human once; quorum counts
 * distinct humans; one deny, a cancel or an expiry is final.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const policy = (url: string) => `connections:
  - name: ops-api
    kind: http
    url: ${url}/ops
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: two-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      ttl: 1h
    - id: dba-and-security
      when: facts.http.method == "POST" && facts.http.path.startsWith("/migrate")
      effect: approve
      approvers: [{ groups: [dba] }, { groups: [security] }]
      ttl: 1h
`;

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(policy(upstream.url), { principals: [
      ...DEFAULT_PRINCIPALS,
      { id: 'erin', kind: 'human', groups: ['dev'], roles: ['auditor'] },
      { id: 'frank', kind: 'human', groups: ['dba', 'security'] },
      { id: 'gina', kind: 'human', groups: ['dba'] },
    ],
  });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** Submits a held POST as deploy-bot and returns its id. */
async function hold(path: string, g: TestGateway = gw): Promise<{ id: string; digest: string }> {
  const res = await g.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'ship it' } });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('pending');
  return { id: res.body.id, digest: res.body.digest };
}

const approve = (who: string, id: string, extra: Record<string, unknown> = {}, g: TestGateway = gw) =>
  g.as(who, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', ...extra } });

const callsTo = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;

describe('who may not review', () => {
  it('refuses an agent with 403 AGENT_CANNOT_REVIEW and records no review', async () => {
    const { id } = await hold('/deploy/agent');
    const res = await approve('other-bot', id);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });

  it('refuses the human the agent acts for with 403 SELF_APPROVAL_FORBIDDEN', async () => {
    const { id } = await hold('/deploy/self');
    const res = await approve('carol', id);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
  });

  it('refuses a human outside every required group with 403 NOT_AN_APPROVER when they may see the request (an auditor)', async () => {
    const { id } = await hold('/deploy/outsider');
    const res = await gw.as('erin', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('NOT_AN_APPROVER');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });

  it('answers a human without a role outside every required group as for an unknown id: 404, nothing recorded', async () => {
    const { id } = await hold('/deploy/outsider-plain');
    const res = await gw.as('dave', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny' } });
    const unknown = await gw.as('dave', `/v1/requests/req_nosuchrequest0000/reviews`, { body: { verdict: 'deny' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(unknown.status).toBe(404);
    expect(res.body.error.message).toBe(unknown.body.error.message.replace('req_nosuchrequest0000', id));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect((await storedAudit(gw.deps.store)).filter((e) => e.requestId === id).map((e) => e.type)).toEqual(['request.submitted', 'request.held']);
  });
});

describe('quorum', () => {
  it('counts each human once: count 2 needs two different approvers', async () => {
    const { id } = await hold('/rotate/keys');
    const first = await approve('alice', id);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('pending');
    expect(first.body.approvals.needed).toBe(1);

    const again = await approve('alice', id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(callsTo('/rotate/keys')).toBe(0);

    const second = await approve('bob', id);
    expect(second.status).toBe(200);
    const final = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    expect(final.reviews.map((r: { reviewer: string }) => r.reviewer)).toEqual(['alice', 'bob']);
    expect(callsTo('/rotate/keys')).toBe(1);
    const types = (await storedAudit(gw.deps.store, id)).map((e) => e.type);
    expect(types.filter((t) => t === 'review.recorded')).toHaveLength(2);
    expect(types).toContain('request.approved');
  });
});

describe('one rule, several requirements', () => {
  it('needs a different human for each: one human in both groups leaves it pending, a second completes it', async () => {
    const { id } = await hold('/migrate/orders');
    const first = await approve('frank', id);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('pending');
    expect(first.body.approvals.needed).toBe(1);
    expect(first.body.approvals.remaining).toEqual([{ rule: 'dba-and-security', groups: ['security'], principals: [], needed: 1 }]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(callsTo('/migrate/orders')).toBe(0);

    // gina is a dba only: she takes the dba place and frank the security one.
    const second = await approve('gina', id);
    expect(second.status).toBe(200);
    await eventually(async () => ((await storedStatus(gw.deps.store, id)) === 'succeeded' ? true : undefined));
    expect(callsTo('/migrate/orders')).toBe(1);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([
      { reviewer: 'frank', verdict: 'approve' },
      { reviewer: 'gina', verdict: 'approve' },
    ]);
  });
});

describe('a deny', () => {
  it('from one eligible reviewer denies; the upstream is never called and later reviews are refused', async () => {
    const { id } = await hold('/deploy/denied');
    const denied = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny', comment: 'not today' } });
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe('denied');
    expect(denied.body.error.code).toBe('REVIEW_DENIED');

    const seen = await gw.as('deploy-bot', `/v1/requests/${id}`);
    expect(seen.body).toMatchObject({ status: 'denied', error: { code: 'REVIEW_DENIED' } });
    expect(await storedStatus(gw.deps.store, id)).toBe('denied');

    const late = await approve('bob', id);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('REQUEST_ALREADY_DECIDED');
    expect(callsTo('/deploy/denied')).toBe(0);
    expect((await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.denied')?.data).toMatchObject({ by: 'review' });
  });
});

describe('cancel', () => {
  it('is refused to anyone but the requester’s side, then withdraws the request for good', async () => {
    const { id } = await hold('/deploy/cancelled');

    const otherAgent = await gw.as('other-bot', `/v1/requests/${id}/cancel`, { body: {} });
    expect(otherAgent.status).toBe(404);
    expect(otherAgent.body.error.code).toBe('NOT_FOUND');
    const reviewer = await gw.as('alice', `/v1/requests/${id}/cancel`, { body: {} });
    expect(reviewer.status).toBe(403);
    expect(reviewer.body.error.code).toBe('FORBIDDEN');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');

    const cancelled = await gw.as('deploy-bot', `/v1/requests/${id}/cancel`, { body: { reason: 'wrong ticket' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.error.code).toBe('REQUEST_CANCELLED');
    expect(await storedStatus(gw.deps.store, id)).toBe('cancelled');

    const review = await approve('alice', id);
    expect(review.status).toBe(409);
    expect(review.body.error.code).toBe('REQUEST_CANCELLED');
    const again = await gw.as('deploy-bot', `/v1/requests/${id}/cancel`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('REQUEST_NOT_PENDING');

    expect(callsTo('/deploy/cancelled')).toBe(0);
    const cancelEvents = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'request.cancelled');
    expect(cancelEvents).toHaveLength(1);
    expect(cancelEvents[0]).toMatchObject({ actor: 'deploy-bot', data: { reason: 'wrong ticket' } });
  });

  it('may come from the human the agent acts for', async () => {
    const { id } = await hold('/deploy/cancelled-by-carol');
    const res = await gw.as('carol', `/v1/requests/${id}/cancel`, { body: {} });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
  });
});

describe('the digest', () => {
  it('a review for another digest is refused with 409 DIGEST_MISMATCH and not counted', async () => {
    const { id, digest } = await hold('/deploy/digest');
    const wrong = await approve('alice', id, { digest: `sha256:${'0'.repeat(64)}` });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('DIGEST_MISMATCH');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    // The attempt is evidence: which digest the reviewer approved, and which one the request has.
    expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.refused')).toMatchObject([
      { actor: 'alice', data: { code: 'DIGEST_MISMATCH', verdict: 'approve', digest, reviewedDigest: `sha256:${'0'.repeat(64)}` } },
    ]);

    const right = await approve('alice', id, { digest });
    expect(right.status).toBe(200);
    await eventually(async () => ((await storedStatus(gw.deps.store, id)) === 'succeeded' ? true : undefined));
    expect(callsTo('/deploy/digest')).toBe(1);
  });
});

describe('expiry', () => {
  const clock = manualClock();
  let timed: TestGateway;
  beforeAll(async () => {
    timed = await startTestGateway(policy(upstream.url), { clock });
  });
  afterAll(() => timed?.stop());

  it('a request past its TTL is expired (not denied) for the agent, and a late review is refused', async () => {
    const { id } = await hold('/deploy/late', timed);
    clock.advance(3600_000 + 1000);

    const seen = await timed.as('deploy-bot', `/v1/requests/${id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.status).toBe('expired');
    expect(seen.body.error.code).toBe('REQUEST_EXPIRED');

    const review = await approve('alice', id, {}, timed);
    expect(review.status).toBe(409);
    expect(review.body.error.code).toBe('REQUEST_EXPIRED');
    expect(await storedReviewers(timed.deps.store, id)).toEqual([]);
    expect(await storedStatus(timed.deps.store, id)).toBe('expired');

    const types = (await storedAudit(timed.deps.store, id)).map((e) => e.type);
    expect(types.filter((t) => t === 'request.expired')).toHaveLength(1);
    expect(types).not.toContain('request.denied');
    expect(callsTo('/deploy/late')).toBe(0);
  });

  it('a review after the TTL is refused, whether or not the sweeper got there first', async () => {
    const { id } = await hold('/deploy/later', timed);
    clock.advance(3600_000 + 1000);
    const review = await approve('bob', id, {}, timed);
    expect(review.status).toBe(409);
    expect(review.body.error.code).toBe('REQUEST_EXPIRED');
    expect(await storedStatus(timed.deps.store, id)).toBe('expired');
    expect(callsTo('/deploy/later')).toBe(0);
  });
});
