/**
 * The cookie that carries a single sign-on's state, PKCE verifier and nonce
 * lives ten minutes in the browser (Max-Age), but the gateway used to take it
 * at any age: the seal said who made it, not when. Whoever kept one — their
 * own, read in their own browser, state, verifier and nonce in clear — could
 * ask the provider for a fresh code with them at any later time, and with
 * the cookie planted in a reviewer's browser (a sibling host without TLS)
 * sign her in as themselves (login CSRF) long after. The gateway now seals
 * the time with the flow and refuses it after ten minutes, whatever the
 * browser kept: `login.flow_invalid`, 400, no session. Real parts: the
 * gateway with a clock the test moves, the `oidc-provider` package, an HTTP
 * client with cookies and forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { manualClock } from '../support/clock.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit } from '../support/store-view.ts';

let op: TestOidcProvider;
let gw: TestGateway;
const clock = manualClock();

beforeAll(async () => {
  op = await startTestOidcProvider();
  gw = await startTestGateway(`identity:
${op.loginYaml()}    groupMap: { platform-oncall: [sre] }
connections:
  - name: ops-api
    kind: http
    url: http://127.0.0.1:9/ops
policy:
  default: deny
  rules: []
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS), clock });
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: { erin: { email: 'erin@acme.test', groups: ['platform-oncall'] } } });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await op?.close();
});

/** Through the provider's pages up to (not into) the gateway's callback. */
async function toCallback(browser: HttpBrowser): Promise<string> {
  const atGateway = (url: string) => url.startsWith(`${gw.url}/auth/oidc/callback`);
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=/`);
  page = await browser.submit(page, { login: 'erin', password: 'any' }, { stop: atGateway });
  if (!atGateway(page.url) && formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page, {}, { stop: atGateway });
  expect(atGateway(page.url), page.url).toBe(true);
  return page.url;
}

describe('a single sign-on whose flow cookie is older than ten minutes', () => {
  it('starts no session, however long the browser kept the cookie: 400, auth.failed login.flow_invalid', async () => {
    // Within the ten minutes: signed in.
    const prompt = new HttpBrowser();
    const fresh = await prompt.follow(await toCallback(prompt));
    expect(fresh.url).toBe(`${gw.url}/`);
    expect(prompt.cookies(gw.url).has('countersign_session')).toBe(true);

    const late = new HttpBrowser();
    const callback = await toCallback(late);
    clock.advance(11 * 60_000);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started').length;
    const res = await late.request(callback);
    expect(res.status).toBe(400);
    expect(late.cookies(gw.url).has('countersign_session')).toBe(false);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started')).toHaveLength(before);
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed');
    expect(failed.at(-1)?.data).toMatchObject({ reason: 'login.flow_invalid', surface: 'console' });
  }, 60_000);
});
