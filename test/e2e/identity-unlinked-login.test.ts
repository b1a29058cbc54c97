/**
 * One provider for the console's sign-in and for people's API tokens. Its ID
 * tokens and its access tokens need not name a person by the same `sub`
 * (Okta's custom authorization servers put the user's login in an access
 * token's `sub` and the user id in an ID token's; Entra ID's are pairwise per
 * application), and an access token usually carries no verified email. A
 * token known by its id claim alone is then nothing the gateway can link to
 * that person's console sign-in: taken as a person, one human approved twice
 * toward a quorum of two. It is refused (401 principal.unlinked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let op: TestOidcProvider;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${op.issuer}
      audience: ${op.audience}
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { idp-sre: [sre] }
  login:
    issuer: ${op.issuer}
    clientId: ${op.clientId}
    clientSecret: ${op.clientSecret}
    scopes: [openid, email, profile, groups]
    groupMap: { idp-sre: [sre] }
    cli: { deviceCode: true, clientId: ${op.cliClientId}, scopes: [openid, groups], resource: ${op.resource} }
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: "true", effect: approve, approvers: [{ groups: [sre], count: 2 }] }
`,
    { principals: [{ id: 'ci-bot', kind: 'agent' }] },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: { '00u1dee': { email: 'dee@example.com', groups: ['idp-sre'] } } });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), upstream?.close()]);
});

describe('one provider for the console and for API tokens, a token without a verified email', () => {
  it('is not a second person beside the same human’s console sign-in: 401 principal.unlinked, the request stays pending', async () => {
    const held = await gw.as('ci-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate', body: {} }, reason: 'rotate keys' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;

    // Dee signs in to the console (ID token: sub 00u1dee, her verified email) and approves: one of two.
    const browser = new HttpBrowser();
    let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent(`/requests/${id}`)}`);
    page = await browser.submit(page, { login: '00u1dee', password: 'any' });
    if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
    expect(page.url).toBe(`${gw.url}/requests/${id}`);
    const approved = await browser.submit(page, { verdict: 'approve', comment: 'ok' }, { action: `/requests/${id}/review` });
    expect(approved.status).toBeLessThan(400);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');

    // Her access token of the same provider, through the CLI's client: `sub` is her login, no email in it.
    const token = await op.sign({ aud: op.audience, sub: 'dee.jones', client_id: op.cliClientId, scope: 'openid groups', groups: ['idp-sre'] });
    const res = await fetch(`${gw.url}/v1/requests/${id}/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ verdict: 'approve' }),
    });
    const body = (await res.json()) as { error?: { code: string; reason?: string } };
    expect({ status: res.status, error: body.error, request: await storedStatus(gw.deps.store, id) }).toMatchObject({ status: 401, error: { code: 'UNAUTHENTICATED', reason: 'principal.unlinked' }, request: 'pending' });
    expect(upstream.calls.filter((c) => c.url === '/ops/rotate')).toHaveLength(0);
  });
});
