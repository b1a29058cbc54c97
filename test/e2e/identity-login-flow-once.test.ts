/**
 * A single sign-on's flow (its state, PKCE verifier and nonce, sealed in a
 * cookie) used to be good for as many callbacks as came within its ten
 * minutes: the seal says who made it and when, not whether it was used.
 * Whoever kept the cookie of a finished sign-in (read in a shared browser, a
 * proxy log, a captured callback with its cookie) could take its state,
 * nonce and PKCE challenge to the provider again, get a fresh code, and
 * bring it to the callback of any replica for a second session. The first
 * callback the provider's answer verifies for now marks the flow used in the
 * store, on whichever replica it lands: a second one is refused
 * (`login.flow_used`, 400, no session). Real parts: two gateways on one
 * store (SQLite, or PostgreSQL with COUNTERSIGN_TEST_STORE=postgres), the
 * `oidc-provider` package, an HTTP client with cookies and forms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore } from '../support/test-store.ts';

let op: TestOidcProvider;
let a: TestGateway;
let b: TestGateway;
const dir = mkdtempSync(join(tmpdir(), 'cs-flow-once-'));

beforeAll(async () => {
  op = await startTestOidcProvider();
  a = await startTestGateway(`identity:
${op.loginYaml()}connections:
  - name: ops-api
    kind: http
    url: http://127.0.0.1:9/ops
policy:
  default: deny
  rules: []
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS), dir });
  // The second replica runs the very same config on the same store.
  b = await startTestGateway(a.yaml, { dir, keys: a.keys });
  await op.configure({ redirectUris: [`${a.url}/auth/oidc/callback`, `${b.url}/auth/oidc/callback`], accounts: { erin: { email: 'erin@acme.test' } } });
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await op?.close();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

const FLOW = 'countersign_oidc';

/** Signs in at the provider from `authorize` up to (not into) the callback it sends the browser to. */
async function atProvider(browser: HttpBrowser, authorize: string): Promise<string> {
  const atCallback = (url: string) => url.includes('/auth/oidc/callback?');
  let page = await browser.follow(authorize, {}, atCallback);
  if (!atCallback(page.url)) page = await browser.submit(page, { login: 'erin', password: 'any' }, { stop: atCallback });
  if (!atCallback(page.url) && formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page, {}, { stop: atCallback });
  expect(atCallback(page.url), page.url).toBe(true);
  return page.url;
}

const sessionsStarted = async () => (await storedAudit(a.deps.store)).filter((e) => e.type === 'session.started').length;
const lastRefusal = async () => (await storedAudit(a.deps.store)).filter((e) => e.type === 'auth.failed').at(-1)?.data;

describe('a single sign-on flow', () => {
  it('signs in once: its cookie taken to the provider again for a fresh code starts no second session, on another replica either', async () => {
    const victim = new HttpBrowser();
    const start = await victim.request(`${a.url}/auth/oidc/start?next=/`);
    const authorize = start.headers.get('location')!;
    const flowCookie = victim.cookies(a.url).get(FLOW)!;
    expect(flowCookie).toBeTruthy();
    const callback = await atProvider(victim, authorize);
    const first = await victim.request(callback);
    expect(first.status).toBe(303);
    expect(victim.cookies(a.url).has('countersign_session')).toBe(true);
    const before = await sessionsStarted();

    // The same flow again, within its ten minutes: a fresh code from the provider (same state, nonce, PKCE
    // challenge), brought to the other replica with the kept cookie.
    const thief = new HttpBrowser();
    const toB = new URL(authorize);
    toB.searchParams.set('redirect_uri', `${b.url}/auth/oidc/callback`);
    const again = await atProvider(thief, toB.href);
    expect(again.startsWith(`${b.url}/auth/oidc/callback?`)).toBe(true);
    const second = await thief.request(again, { headers: { cookie: `${FLOW}=${flowCookie}` } });
    expect(second.status).toBe(400);
    expect(thief.cookies(b.url).has('countersign_session')).toBe(false);
    expect(await sessionsStarted()).toBe(before);
    expect(await lastRefusal()).toMatchObject({ reason: 'login.flow_used', surface: 'console' });

    // And on the replica that began it: the captured callback itself, with its cookie. The provider takes a code
    // once (so this one is refused before the flow is looked at); no session either way.
    const replay = await new HttpBrowser().request(callback, { headers: { cookie: `${FLOW}=${flowCookie}` } });
    expect(replay.status).toBe(401);
    expect(await sessionsStarted()).toBe(before);
    expect(await lastRefusal()).toMatchObject({ reason: 'login.callback_invalid', surface: 'console' });
  }, 60_000);

  it('begun on one replica, finishes on the other (once)', async () => {
    const browser = new HttpBrowser();
    const start = await browser.request(`${a.url}/auth/oidc/start?next=/`);
    const authorize = new URL(start.headers.get('location')!);
    authorize.searchParams.set('redirect_uri', `${b.url}/auth/oidc/callback`);
    const flowCookie = browser.cookies(a.url).get(FLOW)!;
    const callback = await atProvider(browser, authorize.href);
    const done = await browser.request(callback, { headers: { cookie: `${FLOW}=${flowCookie}` } });
    expect(done.status).toBe(303);
    expect(browser.cookies(b.url).has('countersign_session')).toBe(true);
  }, 60_000);
});
