/**
 * The human an agent acts for, named by the agent by his username or subject
 * at the identity provider, never approves its request from a chat account.
 * The console signs people in by the provider's `name` claim here, so frank
 * is `frank` to his provider and `frank@acme.test` to the gateway, and hank,
 * configured as `hank`, is `hjones` there; an agent's token says it acts for
 * one of those names. A click on Slack or Teams by an account with the same
 * email is them, and carries the names their console sign-in was given, as
 * their console session does. Real parts: a real OpenID Provider, a fake
 * Slack and a fake Bot Framework that sign like the real ones, a JWT issuer
 * of agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type AccountClaims, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/** Provider accounts by subject; `name` is the username the gateway names them by. */
const accounts: Record<string, AccountClaims> = {
  '00u-frank': { email: 'frank@acme.test', name: 'frank', groups: ['platform-oncall'] },
  '00u-gina': { email: 'gina@acme.test', name: 'gina', groups: ['platform-oncall'] },
  '00u-hank': { email: 'hank@acme.test', name: 'hjones', groups: [] },
};
const AAD = { frank: 'aaaaaaaa-0000-0000-0000-0000000000f1', gina: 'aaaaaaaa-0000-0000-0000-0000000000f2' };

let op: TestOidcProvider;
let agents: TestIssuer;
let slack: FakeSlack;
let bf: FakeBotFramework;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  op = await startTestOidcProvider();
  agents = await startTestIssuer('/workloads');
  slack = await startFakeSlack();
  slack.users.set('UFRANK', { id: 'UFRANK', email: 'frank@acme.test' });
  slack.users.set('UGINA', { id: 'UGINA', email: 'gina@acme.test' });
  slack.users.set('UHANK', { id: 'UHANK', email: 'hank@acme.test' });
  bf = await startFakeBotFramework();
  bf.members.set(AAD.frank, { aadObjectId: AAD.frank, email: 'frank@acme.test', name: 'frank' });
  upstream = await startUpstream();
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${agents.issuer}
      audience: countersign
      principal: { kind: agent, id: sub, actsFor: act.sub }
${op.loginYaml()}    principal: { id: name }
    groupMap: { platform-oncall: [sre] }
channels:
${bf.channelYaml()}
${slack.channelYaml()}
  publicUrl: https://countersign.example.com
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 1h
`,
    { principals: [...withHumanEmails(DEFAULT_PRINCIPALS), { id: 'hank', kind: 'human', groups: ['sre'], email: 'hank@acme.test' }] },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), agents?.close(), slack?.close(), bf?.close(), upstream?.close()]);
});

/** Signs the provider account `sub` in to the console through the provider's own pages, as a browser does; the page names them `shown`. */
async function signIn(sub: string, shown = accounts[sub]!.email): Promise<HttpBrowser> {
  const browser = new HttpBrowser();
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent('/')}`);
  expect(page.url.startsWith(op.issuer), `${page.url} ${page.status}`).toBe(true);
  page = await browser.submit(page, { login: sub, password: 'any' });
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  expect(page.url.startsWith(gw.url), `${page.url} ${page.status} ${page.html.slice(0, 300)}`).toBe(true);
  expect(page.html).toContain(shown);
  return browser;
}

/** A deploy held for review, asked by an agent whose token says it acts for `actsFor`. */
async function holdFor(actsFor: string, path: string): Promise<string> {
  const token = await agents.sign({ aud: 'countersign', sub: `bot-for-${actsFor}`, act: { sub: actsFor } });
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'on his behalf' }),
  });
  const body = (await res.json()) as { id: string };
  expect(res.status).toBe(202);
  return body.id;
}

/** The first review outcome of the request in the audit log: a refusal of the channel, or a recorded review. */
const firstOutcome = (id: string) =>
  eventually(async () => (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'channel.refused' || e.type === 'review.recorded'), 15_000);

const clickSlack = async (user: string, requestId: string) => {
  await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(requestId));
  expect((await slack.click(gw.url, { user, action: 'approve', requestId })).status).toBe(200);
};
const succeeded = (id: string) => eventually(async () => ((await storedStatus(gw.deps.store, id)) === 'succeeded' ? true : undefined), 15_000);

describe('the human an agent acts for by his provider username', () => {
  it('cannot approve its request on Slack or on Teams once the gateway knows him by his sign-in', async () => {
    await signIn('00u-frank');
    await signIn('00u-gina');

    const bySlack = await holdFor('frank', '/deploy/slack');
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(bySlack));
    expect((await slack.click(gw.url, { user: 'UFRANK', action: 'approve', requestId: bySlack })).status).toBe(200);
    expect((await firstOutcome(bySlack)).data).toMatchObject({ channel: 'slack', reason: 'review.self_approval_forbidden', slackUser: 'UFRANK' });
    expect(await storedReviewers(gw.deps.store, bySlack)).toEqual([]);
    expect(await storedStatus(gw.deps.store, bySlack)).toBe('pending');

    const byTeams = await holdFor('frank', '/deploy/teams');
    await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(byTeams)), 15_000);
    const res = await bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: byTeams, aadObjectId: AAD.frank }));
    expect(res.status).toBe(200);
    expect((await firstOutcome(byTeams)).data).toMatchObject({ channel: 'teams', reason: 'review.self_approval_forbidden', teamsUser: AAD.frank });
    expect(await storedReviewers(gw.deps.store, byTeams)).toEqual([]);
    expect(await storedStatus(gw.deps.store, byTeams)).toBe('pending');

    // Someone else, known the same way, approves on Slack: the click counts and the deploy runs.
    expect((await slack.click(gw.url, { user: 'UGINA', action: 'approve', requestId: bySlack })).status).toBe(200);
    await succeeded(bySlack);
    expect(await storedReviewers(gw.deps.store, bySlack)).toEqual([{ reviewer: 'gina@acme.test', verdict: 'approve' }]);
  });

  it('a configured human named by his provider username or subject cannot approve on Slack; another request of another agent he can', async () => {
    await signIn('00u-hank', 'hank');
    for (const name of ['hjones', '00u-hank']) {
      const id = await holdFor(name, `/deploy/for-${name}`);
      await clickSlack('UHANK', id);
      expect((await firstOutcome(id)).data, name).toMatchObject({ channel: 'slack', reason: 'review.self_approval_forbidden', slackUser: 'UHANK' });
      expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
      expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    }
    // Not his agent's: his click counts under his configured id, and the deploy runs.
    const other = await holdFor('gina', '/deploy/for-gina');
    await clickSlack('UHANK', other);
    await succeeded(other);
    expect(await storedReviewers(gw.deps.store, other)).toEqual([{ reviewer: 'hank', verdict: 'approve' }]);
  });
});
