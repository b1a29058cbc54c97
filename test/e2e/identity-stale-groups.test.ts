/**
 * Groups remembered from a console sign-in, used by chat approvals, against
 * real parts: a real OpenID Provider (the `oidc-provider` package), a fake
 * Slack and a fake Bot Framework that sign like the real ones, and the
 * gateway on a clock the test moves. A human signs in with group sre; the
 * provider then drops them from it. Within identity.login.groupsMaxAge their
 * Slack click still counts (the provider's word is recent enough); past it,
 * the click is refused IDENTITY_STALE, answered privately in Slack and on the
 * card in Teams, audited, and the request stays pending. Signing in again
 * reads the groups afresh (gone: still refused; back: counts). Groups the
 * config file declares for the human count whatever the age. A review after
 * the fact of a break-glass, and one where any human may approve, are refused
 * alike; a console session signed in by the provider ends by that age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type AccountClaims, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOUR = 3600_000;
const clock = manualClock();
/** The provider's accounts: changed by the tests, read by the provider at each sign-in. */
const accounts: Record<string, AccountClaims> = {
  dana: { email: 'dana@acme.test', groups: ['platform-oncall'] },
  frank: { email: 'frank@acme.test', groups: ['platform-oncall'] },
  gus: { email: 'gus@acme.test', groups: ['platform-oncall'] },
  hana: { email: 'hana@acme.test', groups: [] },
};
const AAD: Record<string, string> = { gus: 'aaaaaaaa-0000-0000-0000-0000000000a1' };

let op: TestOidcProvider;
let slack: FakeSlack;
let bf: FakeBotFramework;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  op = await startTestOidcProvider();
  slack = await startFakeSlack();
  for (const who of ['dana', 'frank', 'gus', 'hana']) slack.users.set(`U${who.toUpperCase()}`, { id: `U${who.toUpperCase()}`, email: accounts[who]!.email });
  bf = await startFakeBotFramework();
  bf.members.set(AAD['gus']!, { aadObjectId: AAD['gus']!, email: 'gus@acme.test', name: 'gus' });
  upstream = await startUpstream();
  gw = await startTestGateway(
    `identity:
${op.loginYaml()}    groupMap: { platform-oncall: [sre] }
    groupsMaxAge: 12h
console: { sessionTtl: 24h }
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
    - id: incidents
      when: facts.http.method == "POST" && facts.http.path.startsWith("/incident")
      effect: approve
      approvers: [{ groups: [sre] }]
      breakGlass: { groups: [dev] }
      ttl: 1h
    - id: notes
      when: facts.http.method == "POST" && facts.http.path.startsWith("/notes")
      effect: approve
      approvers: [{ count: 1 }]
      ttl: 1h
`,
    // frank is declared in sre by the config file too (by the id his sign-in names him by); dana and gus only by the provider.
    { principals: [...withHumanEmails(DEFAULT_PRINCIPALS), { id: 'frank@acme.test', kind: 'human', groups: ['sre'] }], clock },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), slack?.close(), bf?.close(), upstream?.close()]);
});

/** Signs `login` in to the console through the provider's own pages, as a browser does. */
async function signIn(login: string): Promise<HttpBrowser> {
  const browser = new HttpBrowser();
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent('/')}`);
  expect(page.url.startsWith(op.issuer), `${page.url} ${page.status}`).toBe(true);
  page = await browser.submit(page, { login, password: 'any' });
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  expect(page.url.startsWith(gw.url), `${page.url} ${page.status} ${page.html.slice(0, 300)}`).toBe(true);
  expect(page.html).toContain(accounts[login]!.email);
  return browser;
}

async function hold(path: string): Promise<string> {
  const res = await gw.as('other-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'release' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** Slack signs with its own clock: the gateway's is ahead by what the test moved it, so the timestamp is too. */
const skewSeconds = () => Math.round((clock.now().getTime() - Date.now()) / 1000);
const clickSlack = async (who: string, requestId: string) => {
  await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(requestId));
  expect((await slack.click(gw.url, { user: `U${who.toUpperCase()}`, action: 'approve', requestId }, { skewSeconds: skewSeconds() })).status).toBe(200);
};
const replyAbout = (requestId: string, text: string) => eventually(async () => slack.responses.find((r) => String(r['text'] ?? '').includes(requestId) && String(r['text']).includes(text)), 15_000);
const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
const settled = (id: string) => eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000);
const events = async (id: string) => storedAudit(gw.deps.store, id);

describe('groups from the identity provider, remembered at sign-in, in a Slack approval', () => {
  it('count within the maximum age even though the provider has dropped the human since', async () => {
    await signIn('dana');
    accounts['dana']!.groups = [];
    clock.advance(11 * HOUR);
    const id = await hold('/deploy/fresh');
    await clickSlack('dana', id);
    expect(await settled(id)).toBe(true);
    const recorded = (await events(id)).find((e) => e.type === 'review.recorded');
    expect(recorded?.data).toMatchObject({ reviewer: { id: 'dana@acme.test', groups: ['sre'] }, via: 'slack', channelUser: 'UDANA' });
  });

  it('are refused past the maximum age: IDENTITY_STALE answered privately with where to sign in, audited, the request still pending', async () => {
    clock.advance(2 * HOUR);
    const id = await hold('/deploy/stale');
    await clickSlack('dana', id);
    const reply = await replyAbout(id, 'sign in to the console again');
    expect(reply['response_type']).toBe('ephemeral');
    expect(reply['text']).toContain(`https://countersign.example.com/requests/${id}`);
    expect(reply['text']).toContain('more than 12h ago');
    expect(await status(id)).toBe('pending');
    const audit = await events(id);
    expect(audit.filter((e) => e.type === 'review.recorded')).toEqual([]);
    const refused = audit.filter((e) => e.type === 'review.refused');
    expect(refused.map((e) => [e.data['code'], e.data['via'], e.data['reviewer']])).toEqual([['IDENTITY_STALE', 'slack', 'dana@acme.test']]);
    expect(typeof refused[0]!.data['signedInAt']).toBe('string');
    expect(audit.filter((e) => e.type === 'channel.refused').map((e) => [e.data['reason'], e.data['slackUser']])).toEqual([['review.identity_stale', 'UDANA']]);
    expect(upstream.calls.filter((c) => c.url === '/deploy/stale')).toEqual([]);
    // A deny counts for nothing either: the request is still pending, the refusal audited.
    expect((await slack.submitDeny(gw.url, { user: 'UDANA', requestId: id, reason: 'not now' }, { skewSeconds: skewSeconds() })).status).toBeLessThan(300);
    await eventually(async () => ((await events(id)).filter((e) => e.type === 'review.refused').length === 2 ? true : undefined), 15_000);
    expect((await events(id)).filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['verdict']])).toEqual([['IDENTITY_STALE', 'approve'], ['IDENTITY_STALE', 'deny']]);
    expect(await status(id)).toBe('pending');
  });

  it('are refused past the maximum age for a review after the fact of a break-glass too', async () => {
    const id = await hold('/incident/1');
    const broken = await gw.as('dave', `/v1/requests/${id}/break-glass`, { body: { justification: 'outage, cannot wait' } });
    expect(broken.status).toBeLessThan(300);
    expect(await settled(id)).toBe(true);
    await clickSlack('dana', id);
    await replyAbout(id, 'sign in to the console again');
    const audit = await events(id);
    expect(audit.filter((e) => e.type === 'review.after_the_fact')).toEqual([]);
    expect(audit.filter((e) => e.type === 'channel.refused').map((e) => e.data['reason'])).toEqual(['review.identity_stale']);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.breakGlass.review ?? null).toBeNull();
  });

  it('are read afresh by signing in again: with the group gone, still refused (not an approver); with it back, the click counts', async () => {
    const id = await hold('/deploy/again');
    await signIn('dana');
    const before = slack.responses.length;
    await clickSlack('dana', id);
    const reply = await eventually(async () => slack.responses.slice(before).find((r) => String(r['text'] ?? '').includes('dana@acme.test is not an approver here')), 15_000);
    expect(reply['text']).not.toContain('sign in');
    expect(await status(id)).toBe('pending');
    expect((await events(id)).filter((e) => e.type === 'review.refused').map((e) => e.data['code'])).toEqual(['NOT_AN_APPROVER']);

    accounts['dana']!.groups = ['platform-oncall'];
    await signIn('dana');
    await clickSlack('dana', id);
    expect(await settled(id)).toBe(true);
  });

  it('leave the groups the config file declares for the human counting past the maximum age', async () => {
    await signIn('frank');
    accounts['frank']!.groups = [];
    clock.advance(13 * HOUR);
    const id = await hold('/deploy/declared');
    await clickSlack('frank', id);
    expect(await settled(id)).toBe(true);
    const recorded = (await events(id)).find((e) => e.type === 'review.recorded');
    expect(recorded?.data).toMatchObject({ reviewer: { id: 'frank@acme.test', groups: ['sre'] }, via: 'slack' });
    expect((await events(id)).filter((e) => e.type === 'review.refused')).toEqual([]);
  });
});

describe('a human the config does not name, known only by an old sign-in', () => {
  it('is refused even where any human may approve: nothing recent vouches for them; a new sign-in does', async () => {
    await signIn('hana');
    clock.advance(12 * HOUR + 1000);
    const id = await hold('/notes/1');
    await clickSlack('hana', id);
    await replyAbout(id, 'sign in to the console again');
    expect(await status(id)).toBe('pending');
    expect((await events(id)).filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['reviewer']])).toEqual([['IDENTITY_STALE', 'hana@acme.test']]);

    await signIn('hana');
    await clickSlack('hana', id);
    expect(await settled(id)).toBe(true);
  });
});

describe('a console session signed in through the identity provider', () => {
  it('ends once its groups are past the maximum age, even under a longer console.sessionTtl', async () => {
    const browser = await signIn('hana');
    clock.advance(11 * HOUR);
    expect((await browser.follow(`${gw.url}/`)).html).toContain('hana@acme.test');
    clock.advance(HOUR + 1000);
    const page = await browser.follow(`${gw.url}/`);
    expect(page.html).not.toContain('hana@acme.test');
    expect(page.html).toContain('/auth/oidc/start');
  });
});

describe('groups from the identity provider, remembered at sign-in, in a Teams approval', () => {
  const clickTeams = async (who: string, requestId: string) => {
    await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(requestId)), 15_000);
    const token = await bf.signToken({ now: clock.now() });
    return bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId, aadObjectId: AAD[who]!, confirm: 'true' }), { token });
  };

  it('are refused past the maximum age on the card, audited, and count again after a new sign-in', async () => {
    await signIn('gus');
    clock.advance(12 * HOUR + 1000);
    const id = await hold('/deploy/teams');
    const res = await clickTeams('gus', id);
    expect(res.status).toBe(200);
    const card = JSON.stringify((res.body as { value: unknown }).value);
    expect(card).toContain('sign in to the console again at https://countersign.example.com/requests/');
    expect(await status(id)).toBe('pending');
    const audit = await events(id);
    expect(audit.filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['via']])).toEqual([['IDENTITY_STALE', 'teams']]);
    expect(audit.filter((e) => e.type === 'review.recorded')).toEqual([]);

    await signIn('gus');
    expect((await clickTeams('gus', id)).status).toBe(200);
    expect(await settled(id)).toBe(true);
  });
});
