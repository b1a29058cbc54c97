/**
 * The human an agent acts for, where nothing yet links her to her other accounts. Humans here come from two places
 * (the console's sign-in, and a second issuer of people's tokens) and from the configuration:
 *  - an agent acting for a provider subject (`act.sub: 00u-cara`): cara's token of the other issuer has another
 *    subject. Once she signed in to the console under that subject, the gateway knows her address and refuses her
 *    (SELF_APPROVAL_FORBIDDEN); before, nobody can be told apart from her, and no approval counts
 *    (IDENTITY_NOT_DISTINCT) until she has. A username links nobody: anyone may take one at the provider;
 *  - a configured human whose address changed at the provider, who never signed in: her sign-in under the new
 *    address is a stranger's, whose provider account could be hers. A stranger's approval does not count
 *    (IDENTITY_NOT_DISTINCT) until she has signed in once; configured reviewers are told apart by the configuration;
 *  - likewise a configured approver who never signed in and a stranger are not two approvals toward a quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type AccountClaims, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let op: TestOidcProvider;
let agents: TestIssuer;
let people: TestIssuer;
let gw: TestGateway;
const accounts: Record<string, AccountClaims> = {
  '00u-cara': { email: 'cara@example.com', name: 'cara', groups: ['idp-sre'] },
  '00u-alice': { email: 'alice.smith@example.com', name: 'asmith', groups: ['idp-sre'] },
  '00u-mallory': { email: 'mallory@example.com', name: 'vera', groups: ['idp-sre'] },
  '00u-bob': { email: 'robert@example.com', name: 'robert', groups: ['idp-sre'] },
};

beforeAll(async () => {
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  [agents, people] = await Promise.all([startTestIssuer('/workloads'), startTestIssuer('/people')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${agents.issuer}, audience: countersign, principal: { kind: agent, id: sub, actsFor: act.sub } }
    - issuer: ${people.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { people-sre: [sre] }
${op.loginYaml()}    principal: { id: name }
    groupMap: { idp-sre: [sre] }
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: one-sre, when: "true", effect: approve, approvers: [{ groups: [sre] }], breakGlass: { groups: [sre] } }
    - { id: two-sre, when: 'facts.http.path.startsWith("/two")', effect: approve, approvers: [{ groups: [sre], count: 2 }] }
`,
    {
      principals: [
        { id: 'alice', kind: 'human', email: 'alice@example.com', groups: ['sre'] },
        { id: 'bob', kind: 'human', email: 'bob@example.com', groups: ['sre'] },
        { id: 'alice-bot', kind: 'agent', actsFor: 'alice' },
        { id: 'ops-bot', kind: 'agent' },
      ],
    },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), agents?.close(), people?.close(), upstream?.close()]);
});

async function signIn(sub: string, next = '/'): Promise<{ browser: HttpBrowser; page: Awaited<ReturnType<HttpBrowser['follow']>> }> {
  const browser = new HttpBrowser();
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent(next)}`);
  page = await browser.submit(page, { login: sub, password: 'any' });
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  expect(page.url).toBe(`${gw.url}${next}`);
  return { browser, page };
}

async function withToken(token: string, path: string, body: unknown): Promise<{ status: number; code: string | undefined; id: string | undefined }> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { id?: string; error?: { code: string } };
  return { status: res.status, code: json.error?.code, id: json.id };
}

async function holdFor(actsFor: string, path: string): Promise<string> {
  const token = await agents.sign({ aud: 'countersign', sub: `bot-for-${actsFor}`, act: { sub: actsFor } });
  const res = await withToken(token, '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'on her behalf' });
  expect(res.status).toBe(202);
  return res.id!;
}

const caraToken = () => people.sign({ aud: 'countersign', sub: 'p-cara', email: 'cara@example.com', email_verified: true, groups: ['people-sre'] });
const refusals = async (id: string) => (await storedAudit(gw.deps.store)).filter((e) => e.requestId === id && e.type === 'review.refused').map((e) => e.data['code']);

describe('an agent acting for a provider subject', () => {
  it('before she ever signed in, nobody can be told apart from her: no approval counts', async () => {
    const id = await holdFor('00u-cara', '/for-cara/1');
    const own = await withToken(await caraToken(), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(own).toMatchObject({ status: 403, code: 'IDENTITY_NOT_DISTINCT' });
    const glass = await withToken(await caraToken(), `/v1/requests/${id}/break-glass`, { justification: 'prod is down, INC-1' });
    expect(glass).toMatchObject({ status: 403, code: 'BREAK_GLASS_NOT_ALLOWED' });
    const bob = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
    expect([bob.status, bob.body.error?.code]).toEqual([403, 'IDENTITY_NOT_DISTINCT']);
    expect({ status: await storedStatus(gw.deps.store, id), reviewers: await storedReviewers(gw.deps.store, id), refused: await refusals(id) }).toEqual({
      status: 'pending',
      reviewers: [],
      refused: ['IDENTITY_NOT_DISTINCT', 'IDENTITY_NOT_DISTINCT'],
    });
    expect(upstream.calls.filter((c) => c.url === '/ops/for-cara/1')).toHaveLength(0);
  });

  it('once she signed in under that subject, her token of the other issuer is her; another approver counts', async () => {
    await signIn('00u-cara');
    const id = await holdFor('00u-cara', '/for-cara/2');
    const own = await withToken(await caraToken(), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(own).toMatchObject({ status: 403, code: 'SELF_APPROVAL_FORBIDDEN' });
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await expect.poll(() => storedStatus(gw.deps.store, id)).toBe('succeeded');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'bob', verdict: 'approve' }]);
  });
});

describe('an agent acting for a provider username', () => {
  it('someone who signs in under that username is on its side, but links nobody: no approval counts', async () => {
    // mallory took the username vera at the provider; vera herself never signed in here.
    await signIn('00u-mallory');
    const id = await holdFor('vera', '/for-vera/1');
    const theirs = await withToken(await people.sign({ aud: 'countersign', sub: 'p-mallory', email: 'mallory@example.com', email_verified: true, groups: ['people-sre'] }), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(theirs).toMatchObject({ status: 403, code: 'SELF_APPROVAL_FORBIDDEN' });
    const vera = await withToken(await people.sign({ aud: 'countersign', sub: 'p-vera', email: 'vera@example.com', email_verified: true, groups: ['people-sre'] }), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(vera).toMatchObject({ status: 403, code: 'IDENTITY_NOT_DISTINCT' });
    expect({ status: await storedStatus(gw.deps.store, id), reviewers: await storedReviewers(gw.deps.store, id) }).toEqual({ status: 'pending', reviewers: [] });
  });
});

describe('a configured human whose email changed at the provider before she ever signed in', () => {
  it('her sign-in under the new address does not count on her agent’s request; bob’s does', async () => {
    const held = await gw.as('alice-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate', body: {} }, reason: 'rotate keys' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    const { browser, page } = await signIn('00u-alice', `/requests/${id}`);
    await browser.submit(page, { verdict: 'approve', comment: 'fine' }, { action: `/requests/${id}/review` });
    expect({ status: await storedStatus(gw.deps.store, id), reviewers: await storedReviewers(gw.deps.store, id), refused: await refusals(id) }).toEqual({
      status: 'pending',
      reviewers: [],
      refused: ['IDENTITY_NOT_DISTINCT'],
    });
    expect(upstream.calls.filter((c) => c.url === '/ops/rotate')).toHaveLength(0);
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await expect.poll(() => storedStatus(gw.deps.store, id)).toBe('succeeded');
  });
});

describe('a configured approver who never signed in, and a stranger', () => {
  it('are not two approvals toward a quorum of two: the stranger’s does not count', async () => {
    const held = await gw.as('ops-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/two/payout', body: {} }, reason: 'payout' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    // bob's address at the provider is robert@ now: his sign-in is someone the configuration does not name.
    const { browser, page } = await signIn('00u-bob', `/requests/${id}`);
    await browser.submit(page, { verdict: 'approve', comment: 'fine' }, { action: `/requests/${id}/review` });
    expect({ status: await storedStatus(gw.deps.store, id), reviewers: await storedReviewers(gw.deps.store, id), refused: await refusals(id) }).toEqual({
      status: 'pending',
      reviewers: [{ reviewer: 'bob', verdict: 'approve' }],
      refused: ['IDENTITY_NOT_DISTINCT'],
    });
    expect(upstream.calls.filter((c) => c.url === '/ops/two/payout')).toHaveLength(0);
  });
});
