/**
 * Console sessions across replicas and sign-ins: a session cookie planted in
 * a reviewer's browser before she signs in through single sign-on is ended,
 * not kept (session fixation); a sign-out on one replica ends the session on
 * every other at its next click; no top-level GET (which a SameSite=Lax
 * cookie goes with, from any site) changes anything. Real parts: two gateways on one store
 * (SQLite, or PostgreSQL with COUNTERSIGN_TEST_STORE=postgres), the
 * `oidc-provider` package, an HTTP client with cookies and forms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, getPage, postForm, signIn } from '../support/console.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { consoleRoutes } from '../../src/surfaces/http/console/index.ts';
import { releaseTestStore } from '../support/test-store.ts';

let op: TestOidcProvider;
let a: TestGateway;
let b: TestGateway;
const dir = mkdtempSync(join(tmpdir(), 'cs-session-replicas-'));

beforeAll(async () => {
  op = await startTestOidcProvider();
  a = await startTestGateway(`identity:
${op.loginYaml()}connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules:
    - { id: writes, when: 'facts.http.method == "POST"', effect: approve, approvers: [{ groups: [sre] }] }
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS), dir });
  b = await startTestGateway(a.yaml, { dir, keys: a.keys });
  await op.configure({ redirectUris: [`${a.url}/auth/oidc/callback`], accounts: { erin: { email: 'erin@acme.test' } } });
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await op?.close();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

const SESSION = 'countersign_session';
const opens = async (url: string, cookie: string) => (await getPage(url, { cookie: `${SESSION}=${cookie}` }, '/')).status;

describe('a session cookie planted before a single sign-on', () => {
  it('is ended by the sign-in, which sets a new one: whoever planted it shares nothing with the reviewer', async () => {
    // The attacker's own session (an API key of a human they hold), planted in the reviewer's browser.
    const planted = (await signIn(a.url, a.keys['bob']!)).cookie.split('=')[1]!;
    expect(await opens(a.url, planted)).toBe(200);
    const victim = new HttpBrowser();
    const atCallback = (url: string) => url.startsWith(`${a.url}/auth/oidc/callback`);
    let page = await victim.follow(`${a.url}/auth/oidc/start?next=/`);
    page = await victim.submit(page, { login: 'erin', password: 'any' }, { stop: atCallback });
    if (!atCallback(page.url) && formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await victim.submit(page, {}, { stop: atCallback });
    const done = await victim.request(page.url, { headers: { cookie: `countersign_oidc=${victim.cookies(a.url).get('countersign_oidc')}; ${SESSION}=${planted}` } });
    expect(done.status).toBe(303);
    const mine = done.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`))!.split(';')[0]!.split('=')[1]!;
    expect(mine).not.toBe(planted);
    expect(await opens(a.url, planted)).toBe(303);
    expect(await opens(b.url, planted)).toBe(303);
    expect(await opens(a.url, mine)).toBe(200);
    const ended = (await storedAudit(a.deps.store)).filter((e) => e.type === 'session.ended' && e.actor === 'bob');
    expect(ended.map((e) => e.data['reason'])).toEqual(['replaced']);
  }, 60_000);
});

describe('a sign-out on one replica', () => {
  it('ends the session on the other at its next click', async () => {
    const alice = await signIn(a.url, a.keys['alice']!);
    expect((await getPage(b.url, alice, '/')).status).toBe(200);
    const csrf = csrfOf(await (await getPage(b.url, alice, '/')).text());
    expect((await postForm(a.url, alice, '/logout', { _csrf: csrf })).status).toBe(303);
    expect((await getPage(b.url, alice, '/')).status).toBe(303);
    // Nor does the other replica take a form of it.
    expect((await postForm(b.url, alice, '/logout', { _csrf: csrf })).status).toBe(401);
  }, 60_000);
});

describe('a top-level GET from another site, which the SameSite=Lax session cookie goes with', () => {
  it('changes nothing at any state-changing console route, whatever its query says', async () => {
    const held = await a.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/x' }, reason: 'lax GET' } });
    expect(held.status).toBe(202);
    const alice = await signIn(a.url, a.keys['alice']!);
    const all = consoleRoutes(a.deps).routes;
    // A path that is also a page (/login) answers that page; every other answers a GET with nothing at all.
    const pages = new Set(all.filter((r) => r.method === 'GET' || r.method === 'ALL').map((r) => r.path));
    const routes = all.filter((r) => r.method !== 'GET' && r.method !== 'ALL' && !pages.has(r.path));
    expect(routes.map((r) => r.path)).toContain('/requests/:id/review');
    const audit = (await storedAudit(a.deps.store)).length;
    const query = new URLSearchParams({ verdict: 'approve', digest: held.body.digest, _csrf: alice.csrf, confirm: 'yes', justification: 'x' });
    for (const route of routes) {
      const res = await fetch(`${a.url}${route.path.replace(':id', held.body.id)}?${query}`, { redirect: 'manual', headers: { cookie: alice.cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } });
      expect({ route: route.path, status: res.status }).toEqual({ route: route.path, status: 404 });
    }
    expect(await storedStatus(a.deps.store, held.body.id)).toBe('pending');
    expect(await storedReviewers(a.deps.store, held.body.id)).toEqual([]);
    expect((await storedAudit(a.deps.store)).length).toBe(audit);
  }, 60_000);
});
