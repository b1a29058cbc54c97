/**
 * Groups an identity provider granted count through the mapping the
 * configuration in force gives them, not the one in force at sign-in. A human
 * signs in through the provider while its group `platform-oncall` maps to
 * `sre`; the gateway restarts with that mapping taken away (the provider's
 * group no longer makes anyone an approver). Their console session, still
 * open, and their Slack account, matched to their sign-in by email, must not
 * approve as `sre` any more (the console no longer shows her the request; the
 * Slack click is refused NOT_AN_APPROVER, audited), and the request stays pending; a mapping that still grants it counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, getPage, postForm } from '../support/console.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit } from '../support/store-view.ts';
import { storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let op: TestOidcProvider;
let slack: FakeSlack;
let upstream: Upstream;
let dir: string;
const running: TestGateway[] = [];

beforeAll(async () => {
  op = await startTestOidcProvider();
  slack = await startFakeSlack();
  slack.users.set('UERIN', { id: 'UERIN', email: 'erin@acme.test' });
  upstream = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'cs-group-map-'));
}, 60_000);

afterAll(async () => {
  for (const gw of running) await gw.stop();
  await Promise.all([op?.close(), slack?.close(), upstream?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const body = (groupMap: string) => `identity:
${op.loginYaml()}    groupMap: ${groupMap}
channels:
${slack.channelYaml()}
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 1h
`;

async function gateway(groupMap: string, keys: Record<string, string>): Promise<TestGateway> {
  const yaml = await storeYaml(configYaml(withHumanEmails(DEFAULT_PRINCIPALS), keys, body(groupMap), join(dir, 'countersign.db')));
  const gw = await startTestGateway(yaml, { dir, keys });
  running.push(gw);
  return gw;
}

async function stop(gw: TestGateway): Promise<void> {
  running.splice(running.indexOf(gw), 1);
  await gw.stop();
}

/** A request of an agent acting for nobody (one acting for carol, who never signed in, no stranger may approve: IDENTITY_NOT_DISTINCT). */
async function hold(gw: TestGateway, path: string): Promise<string> {
  const res = await gw.as('other-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'release' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** Approves `id` with the console's review form, with only the session cookie a browser holds. */
async function approveInConsole(gw: TestGateway, cookie: string, id: string): Promise<number> {
  const page = await getPage(gw.url, { cookie }, '/');
  expect(page.status).toBe(200);
  const res = await postForm(gw.url, { cookie }, `/requests/${id}/review`, { verdict: 'approve', confirm: 'yes', _csrf: csrfOf(await page.text()) }, { origin: gw.url });
  return res.status;
}

const status = async (gw: TestGateway, id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
const refusals = async (gw: TestGateway, id: string) =>
  (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['reviewer'], e.data['via'] ?? null]);

describe('groups a provider granted, once the groupMap in force no longer grants them', () => {
  it('count for neither the console session opened before nor the Slack account matched to that sign-in', async () => {
    const keys: Record<string, string> = {};
    const first = await gateway('{ platform-oncall: [sre] }', keys);
    await op.configure({ redirectUris: [`${first.url}/auth/oidc/callback`], accounts: { erin: { email: 'erin@acme.test', groups: ['platform-oncall'] } } });
    const browser = new HttpBrowser();
    let page = await browser.follow(`${first.url}/auth/oidc/start?next=/`);
    page = await browser.submit(page, { login: 'erin', password: 'any' });
    if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
    expect(page.html).toContain('erin@acme.test');
    const cookie = `countersign_session=${browser.cookies(first.url).get('countersign_session')!}`;
    // Under the mapping she signed in with, she is an approver.
    const before = await hold(first, '/deploy/before');
    expect(await approveInConsole(first, cookie, before)).toBe(303);
    expect(await eventually(async () => ((await status(first, before)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
    await stop(first);

    // Restarted with platform-oncall mapped to nothing: the same provider, the same session cookie.
    const after = await gateway('{ platform-admins: [sre] }', keys);
    const id = await hold(after, '/deploy/after');
    // Not an approver of it, she is not shown it either: the page and the review form answer as for no request.
    expect((await getPage(after.url, { cookie }, `/requests/${id}`)).status).toBe(404);
    expect(await approveInConsole(after, cookie, id)).toBe(404);
    expect(await status(after, id)).toBe('pending');

    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id), 10_000);
    expect((await slack.click(after.url, { user: 'UERIN', action: 'approve', requestId: id })).status).toBe(200);
    await eventually(async () => ((await refusals(after, id)).length === 1 ? true : undefined), 15_000);
    expect(await refusals(after, id)).toEqual([['NOT_AN_APPROVER', 'erin@acme.test', 'slack']]);
    expect(await status(after, id)).toBe('pending');
    expect(upstream.calls.filter((c) => c.url === '/deploy/after')).toEqual([]);
    await stop(after);

    // The mapping given back: both count again, without a new sign-in.
    const again = await gateway('{ platform-oncall: [sre] }', keys);
    expect(await approveInConsole(again, cookie, id)).toBe(303);
    expect(await eventually(async () => ((await status(again, id)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
  }, 120_000);
});
