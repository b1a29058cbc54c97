/**
 * A configured human whose address changes at the identity provider (a new
 * name, a new domain) before the configuration follows. Her next console
 * sign-in carries the new verified email and is nobody the configuration
 * names, but the gateway has met her provider account before, under her
 * configured address: she is still the human her agent acts for, and may not
 * approve what it asks (SELF_APPROVAL_FORBIDDEN) nor break the glass on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type AccountClaims, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let op: TestOidcProvider;
let gw: TestGateway;
const accounts: Record<string, AccountClaims> = { '00u1alice': { email: 'alice@example.com', groups: ['idp-sre'] } };

beforeAll(async () => {
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  gw = await startTestGateway(
    `identity:
  login:
    issuer: ${op.issuer}
    clientId: ${op.clientId}
    clientSecret: ${op.clientSecret}
    scopes: [openid, email, profile, groups]
    principal: { id: sub }
    groupMap: { idp-sre: [sre] }
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: one-sre, when: "true", effect: approve, approvers: [{ groups: [sre] }], breakGlass: { groups: [sre] } }
`,
    {
      principals: [
        { id: 'alice', kind: 'human', email: 'alice@example.com', groups: ['sre'] },
        { id: 'bob', kind: 'human', email: 'bob@example.com', groups: ['sre'] },
        { id: 'alice-bot', kind: 'agent', actsFor: 'alice' },
      ],
    },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), upstream?.close()]);
});

async function signIn(next: string): Promise<{ browser: HttpBrowser; page: Awaited<ReturnType<HttpBrowser['follow']>> }> {
  const browser = new HttpBrowser();
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent(next)}`);
  page = await browser.submit(page, { login: '00u1alice', password: 'any' });
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  expect(page.url).toBe(`${gw.url}${next}`);
  return { browser, page };
}

describe('a configured human whose email changed at the provider', () => {
  it('is still the human her agent acts for: her approval under the new address is refused, nothing runs', async () => {
    // She signs in as herself once: the gateway now knows her provider account.
    await signIn('/');
    accounts['00u1alice']!.email = 'alice.smith@example.com';

    const held = await gw.as('alice-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate', body: {} }, reason: 'rotate keys' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;

    const { browser, page } = await signIn(`/requests/${id}`);
    await browser.submit(page, { verdict: 'approve', comment: 'fine' }, { action: `/requests/${id}/review` });
    await browser.submit(page, { justification: 'it is urgent, INC-1' }, { action: `/requests/${id}/break-glass` });
    const seen = (await storedAudit(gw.deps.store)).filter((e) => e.requestId === id && /^(review|break_glass)\./.test(e.type));
    expect({ status: await storedStatus(gw.deps.store, id), events: seen.map((e) => [e.type, e.data['code'] ?? null]) }).toEqual({
      status: 'pending',
      events: [
        ['review.refused', 'SELF_APPROVAL_FORBIDDEN'],
        ['break_glass.refused', 'BREAK_GLASS_NOT_ALLOWED'],
      ],
    });
    expect(upstream.calls.filter((c) => c.url === '/ops/rotate')).toHaveLength(0);

    // Bob breaks the glass; she may not review that after the fact either.
    expect((await gw.as('bob', `/v1/requests/${id}/break-glass`, { body: { justification: 'it is urgent, INC-2' } })).status).toBe(200);
    await expect.poll(() => storedStatus(gw.deps.store, id)).toBe('succeeded');
    await browser.submit(page, { verdict: 'approve', comment: 'warranted' }, { action: `/requests/${id}/review` });
    expect((await gw.deps.store.getRequest(id))?.breakGlass?.review).toBeUndefined();
    expect((await storedAudit(gw.deps.store)).filter((e) => e.requestId === id && e.type === 'review.recorded')).toHaveLength(0);
  });
});
