/**
 * A console session opened through single sign-on lasts only while its
 * identity provider is the one the configuration signs humans in with: once
 * a restart removes identity.login (the provider was compromised, or
 * replaced), the sessions it opened end at their next use, as an API-key
 * session ends with its key. Sessions live in the store, so a restart alone
 * ends none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit } from '../support/store-view.ts';
import { storeYaml } from '../support/test-store.ts';

let op: TestOidcProvider;
let dir: string;
const running: TestGateway[] = [];

const body = (login: string) => `identity:
${login}
connections:
  - name: ops-api
    kind: http
    url: http://127.0.0.1:9/ops
policy:
  default: deny
  rules: []
`;

beforeAll(async () => {
  op = await startTestOidcProvider();
  dir = mkdtempSync(join(tmpdir(), 'cs-login-gone-'));
}, 60_000);

afterAll(async () => {
  for (const gw of running) await gw.stop();
  await op?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function gateway(yaml: string, keys: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway(yaml, { dir, keys });
  running.push(gw);
  return gw;
}

async function stop(gw: TestGateway): Promise<void> {
  running.splice(running.indexOf(gw), 1);
  await gw.stop();
}

/** The console's home page with only the session cookie a browser holds. */
const home = (gw: TestGateway, cookie: string) => fetch(`${gw.url}/`, { redirect: 'manual', headers: { cookie: `countersign_session=${cookie}` } });

describe('a single sign-on session, once identity.login is gone from the configuration', () => {
  it('ends at its next use (session.ended, principal-changed): a page sends it to sign in', async () => {
    const keys: Record<string, string> = {};
    const login = `${op.loginYaml()}    groupMap: { platform-oncall: [sre] }`;
    const withLogin = await storeYaml(configYaml(withHumanEmails(DEFAULT_PRINCIPALS), keys, body(login), join(dir, 'countersign.db')));
    const first = await gateway(withLogin, keys);
    await op.configure({ redirectUris: [`${first.url}/auth/oidc/callback`], accounts: { erin: { email: 'erin@acme.test', groups: ['platform-oncall'] } } });

    const browser = new HttpBrowser();
    let page = await browser.follow(`${first.url}/auth/oidc/start?next=/`);
    page = await browser.submit(page, { login: 'erin', password: 'any' });
    if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
    expect(page.url).toBe(`${first.url}/`);
    expect(page.html).toContain('erin@acme.test');
    const cookie = browser.cookies(first.url).get('countersign_session')!;
    expect(cookie).toBeTruthy();
    await stop(first);

    // A restart with the same provider: the session goes on.
    const same = await gateway(withLogin, keys);
    const kept = await home(same, cookie);
    expect(kept.status).toBe(200);
    expect(await kept.text()).toContain('erin@acme.test');
    await stop(same);

    const withoutLogin = withLogin.replace(login, '  issuers: []');
    expect(withoutLogin).not.toContain(op.issuer);
    const after = await gateway(withoutLogin, keys);
    const res = await home(after, cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login/);
    const ended = (await storedAudit(after.deps.store)).filter((e) => e.type === 'session.ended' && e.actor === 'erin@acme.test');
    expect(ended.map((e) => e.data['reason'])).toEqual(['principal-changed']);
    // Ended, not merely refused once: the same cookie opens nothing again either.
    expect((await home(after, cookie)).status).toBe(303);
  }, 90_000);
});
