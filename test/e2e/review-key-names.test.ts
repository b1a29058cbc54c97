/**
 * The human an agent acts for, named by the agent by his username or subject at the identity provider, never
 * approves its request (nor breaks its glass) with his API key either, once the gateway knows those names from
 * his console sign-in: a chat click carries them (review-chat-names), and so must every credential of a configured
 * human. hank is configured as `hank`; his provider knows him as `hjones`, subject `00u-hank`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type AccountClaims, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const accounts: Record<string, AccountClaims> = { '00u-hank': { email: 'hank@acme.test', name: 'hjones', groups: [] } };

let op: TestOidcProvider;
let agents: TestIssuer;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  op = await startTestOidcProvider();
  agents = await startTestIssuer('/workloads');
  upstream = await startUpstream();
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${agents.issuer}
      audience: countersign
      principal: { kind: agent, id: sub, actsFor: act.sub }
${op.loginYaml()}    principal: { id: name }
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre] }]
      breakGlass: { groups: [sre] }
      ttl: 1h
`,
    { principals: [...withHumanEmails(DEFAULT_PRINCIPALS), { id: 'hank', kind: 'human', groups: ['sre'], email: 'hank@acme.test' }] },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), agents?.close(), upstream?.close()]);
});

async function signIn(sub: string): Promise<void> {
  const browser = new HttpBrowser();
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent('/')}`);
  page = await browser.submit(page, { login: sub, password: 'any' });
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  expect(page.url.startsWith(gw.url), `${page.url} ${page.status}`).toBe(true);
}

async function holdFor(actsFor: string, path: string): Promise<string> {
  const token = await agents.sign({ aud: 'countersign', sub: `bot-for-${encodeURIComponent(actsFor)}`, act: { sub: actsFor } });
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'on his behalf' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('a configured human named by his provider username or subject, with his API key', () => {
  it('cannot approve or break the glass on his agent’s request; another agent’s he can approve', async () => {
    await signIn('00u-hank');
    // As his provider spells them, and in another case or with a hidden character: his names all the same.
    for (const [n, name] of ['hjones', '00u-hank', 'HJones', 'hjones\u200B', '00U-HANK'].entries()) {
      const id = await holdFor(name, `/deploy/for-${n}`);
      const res = await gw.as('hank', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect([res.status, res.body.error?.code], name).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
      const glass = await gw.as('hank', `/v1/requests/${id}/break-glass`, { body: { justification: 'prod is down, INC-1' } });
      expect([glass.status, glass.body.error?.code], name).toEqual([403, 'BREAK_GLASS_NOT_ALLOWED']);
      expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
      expect(await storedStatus(gw.deps.store, id)).toBe('pending');
      expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.refused').map((e) => e.data['code'])).toEqual(['SELF_APPROVAL_FORBIDDEN']);
    }
    const other = await holdFor('gina', '/deploy/for-gina');
    expect((await gw.as('hank', `/v1/requests/${other}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    expect(await storedReviewers(gw.deps.store, other)).toEqual([{ reviewer: 'hank', verdict: 'approve' }]);
  });
});
