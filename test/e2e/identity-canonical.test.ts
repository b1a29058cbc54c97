/**
 * One human, one identity, whatever the credential: a person's API key and
 * their identity provider's token (verified email, any case) are the same
 * reviewer, so the human an agent acts for cannot approve its request with a
 * token, and one person cannot make a quorum of two. An unverified email
 * names no one; a provider's raw group names grant nothing unless mapped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let idp: TestIssuer;
let agents: TestIssuer;
let gw: TestGateway;

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', actsFor: 'alice' },
  { id: 'alice', kind: 'human', groups: ['sre'], email: 'alice@example.com' },
  { id: 'bob', kind: 'human', groups: ['sre'], email: 'Bob@Example.com' },
];

beforeAll(async () => {
  upstream = await startUpstream();
  idp = await startTestIssuer('/people');
  agents = await startTestIssuer('/workloads');
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { okta-dba: [dba] }
    - issuer: ${agents.issuer}
      audience: countersign
      principal: { kind: agent, id: sub, actsFor: act.sub }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: two-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: admins
      when: facts.http.method == "POST" && facts.http.path.startsWith("/admin")
      effect: approve
      approvers: [{ groups: [admins] }]
    - id: two-dba
      when: facts.http.method == "POST" && facts.http.path.startsWith("/schema")
      effect: approve
      approvers: [{ groups: [dba], count: 2 }]
`,
    // Two issuers: deploy-bot is named by the workload issuer's tokens only.
    { principals: PRINCIPALS.map((p) => (p.id === 'deploy-bot' ? { ...p, issuers: [agents.issuer] } : p)) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([idp?.close(), agents?.close(), upstream?.close()]);
});

async function withToken(token: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const token = (claims: Record<string, unknown>) => idp.sign({ aud: 'countersign', ...claims });

async function hold(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'ship it' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const approveWith = (t: string, id: string) => withToken(t, `/v1/requests/${id}/reviews`, { verdict: 'approve' });

describe('a human’s token is their configured identity', () => {
  it('the human an agent acts for cannot approve its request with a token carrying her verified email in another case', async () => {
    const alice = await token({ sub: '00u-alice', email: 'ALICE@Example.com', email_verified: true });
    expect(await withToken(alice, '/v1/whoami')).toMatchObject({ status: 200, body: { id: 'alice', kind: 'human', groups: ['sre'] } });
    const id = await hold('/deploy/1');
    const res = await approveWith(alice, id);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    // The attempt is evidence, under her one identity and the token it came with.
    expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.refused')).toMatchObject([
      { actor: 'alice', data: { code: 'SELF_APPROVAL_FORBIDDEN', identity: { issuer: idp.issuer, subject: '00u-alice' } } },
    ]);
  });

  it('one person’s API key and token are one reviewer: a quorum of two stays pending', async () => {
    const id = await hold('/rotate/1');
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const bob = await token({ sub: '00u-bob', email: 'bob@example.COM', email_verified: true });
    const again = await approveWith(bob, id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'bob', verdict: 'approve' }]);
    expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'request.approved')).toEqual([]);

    // An email the provider has not verified names no one: not bob, and, beside configured humans, nobody at all.
    for (const claims of [{ sub: 'mallory', email: 'bob@example.com', email_verified: false }, { sub: 'mallory-2', email: 'bob@example.com' }]) {
      const mallory = await token(claims);
      expect((await withToken(mallory, '/v1/whoami')).body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.unlinked' });
      const res = await approveWith(mallory, id);
      expect(res.status).toBe(401);
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });

  it('a person the config does not name is one reviewer under emails that differ only in case', async () => {
    const id = await hold('/schema/1');
    const first = await token({ sub: 'dana-laptop', email: 'Dana@Example.com', email_verified: true, groups: ['okta-dba'] });
    const second = await token({ sub: 'dana-phone', email: 'dana@example.com', email_verified: true, groups: ['okta-dba'] });
    expect((await withToken(first, '/v1/whoami')).body).toMatchObject({ id: 'dana@example.com', groups: ['dba'] });
    expect((await approveWith(first, id)).status).toBe(200);
    const again = await approveWith(second, id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'dana@example.com', verdict: 'approve' }]);
  });
});

describe('one mailbox under other spellings is one person', () => {
  it('a domain in Unicode, in punycode, in capitals or with a root dot is one domain: no quorum of one', async () => {
    const id = await hold('/schema/idn');
    const first = await token({ sub: 'erin-laptop', email: 'erin@ex\u00e4mple.com', email_verified: true, groups: ['okta-dba'] });
    const second = await token({ sub: 'erin-phone', email: 'ERIN@XN--EXMPLE-CUA.COM.', email_verified: true, groups: ['okta-dba'] });
    expect((await approveWith(first, id)).status).toBe(200);
    const again = await approveWith(second, id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'erin@xn--exmple-cua.com', verdict: 'approve' }]);
  });

  it('a sub-address (+tag) delivers to the same mailbox: no second approval toward a quorum, and no approval of her own agent’s request', async () => {
    const id = await hold('/schema/plus');
    const first = await token({ sub: 'gail-main', email: 'gail@example.com', email_verified: true, groups: ['okta-dba'] });
    const second = await token({ sub: 'gail-ops', email: 'Gail+ops@example.com', email_verified: true, groups: ['okta-dba'] });
    // Two accounts, two ids: the sub-address is not taken as her (it gets none of her configured groups or roles) ...
    expect((await withToken(second, '/v1/whoami')).body).toMatchObject({ id: 'gail+ops@example.com' });
    expect((await approveWith(first, id)).status).toBe(200);
    // ... but one mailbox is one reviewer.
    const again = await approveWith(second, id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    // deploy-bot acts for alice (alice@example.com): alice+review@ is her mailbox too.
    const own = await hold('/schema/plus-own');
    const aliceTagged = await token({ sub: 'alice-tagged', email: 'alice+review@example.com', email_verified: true, groups: ['okta-dba'] });
    const res = await approveWith(aliceTagged, own);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    expect(await storedReviewers(gw.deps.store, own)).toEqual([]);
  });

  it('a verified address that cannot be compared (quoted local part) is refused, not taken as a new person who may approve for her own agent', async () => {
    const id = await hold('/schema/quoted');
    const alice = await token({ sub: '00u-alice-quoted', email: '"alice"@example.com', email_verified: true, groups: ['okta-dba'] });
    const res = await approveWith(alice, id);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect((await storedAudit(gw.deps.store)).some((e) => e.type === 'auth.failed' && e.data.reason === 'principal.email_invalid')).toBe(true);
  });
});

describe('the human an agent acts for, named by another of her names', () => {
  it('an agent acting for a person by her provider username or subject: she cannot approve with her token', async () => {
    for (const [actsFor, sub] of [
      ['frank', 'frank'],
      ['00u-gina', '00u-gina'],
    ] as const) {
      const bot = await agents.sign({ aud: 'countersign', sub: `bot-for-${actsFor}`, act: { sub: actsFor } });
      const submitted = await withToken(bot, '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path: `/schema/for-${actsFor}`, body: {} }, reason: 'on her behalf' });
      expect(submitted.status).toBe(202);
      const human = await token({ sub, email: `${actsFor.replace('00u-', '')}@example.com`, email_verified: true, groups: ['okta-dba'] });
      const res = await approveWith(human, submitted.body.id);
      expect(res.status, actsFor).toBe(403);
      expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
      expect(await storedReviewers(gw.deps.store, submitted.body.id)).toEqual([]);
    }
  });
});

describe('a token for a configured agent that names another human', () => {
  it('the human the configuration says the agent acts for still cannot approve its request, nor the one the token names', async () => {
    // deploy-bot acts for alice by the configuration; its token claims to act for bob.
    const bot = await agents.sign({ aud: 'countersign', sub: 'deploy-bot', act: { sub: 'bob' } });
    expect((await withToken(bot, '/v1/whoami')).body).toMatchObject({ id: 'deploy-bot', kind: 'agent', actsFor: 'bob' });
    const submitted = await withToken(bot, '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path: '/deploy/claimed-for-bob', body: {} }, reason: 'ship it' });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    for (const who of ['alice', 'bob']) {
      const res = await gw.as(who, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect(res.status, who).toBe(403);
      expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    }
    const aliceToken = await token({ sub: '00u-alice', email: 'alice@example.com', email_verified: true });
    expect((await approveWith(aliceToken, id)).status).toBe(403);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
  });
});

describe('provider groups', () => {
  it('a raw provider group `admins` does not fill a requirement for the Countersign group admins', async () => {
    const eve = await token({ sub: 'eve', email: 'eve@example.com', email_verified: true, groups: ['admins'] });
    expect((await withToken(eve, '/v1/whoami')).body).toMatchObject({ id: 'eve@example.com', groups: [] });
    const id = await hold('/admin/1');
    // Not an approver, so the request is none of hers: not found, as an unknown id.
    const res = await approveWith(eve, id);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });
});
