/**
 * The last page of a CLI sign-in, in headless Chromium, against a page that
 * appears under the pointer. An agent on the reviewer's computer listens on a
 * loopback port, starts `/auth/cli/start` for it in her browser (the provider
 * signs her in without a prompt) and asks her to double-click something of
 * its own: it closes its window between the clicks, so the second lands on
 * the gateway's "Continue" link, which no frame policy protects against
 * (double-clickjacking). The link's code would give the agent her sign-in.
 * So the link takes no click until the pointer has moved over that page and
 * a moment has passed; the reviewer's own click, after reading, goes through.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';

let op: TestOidcProvider;
let gw: TestGateway;
let browser: TestBrowser;
/** The agent's loopback listener: every request it got, with when it came. */
let loopback: Server;
const arrivals: { url: string; at: number }[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  op = await startTestOidcProvider();
  gw = await startTestGateway(`identity:
  issuers:
    - issuer: ${op.issuer}
      audience: ${op.audience}
      principal: { kind: human, id: email, groups: groups, email: email }
  login:
    issuer: ${op.issuer}
    clientId: ${op.clientId}
    clientSecret: ${op.clientSecret}
    scopes: [openid, email, profile, groups]
    cli: { clientId: ${op.cliClientId}, scopes: [openid, email, groups], resource: ${op.resource} }
connections: []
policy: { default: deny, rules: [] }
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: { bob: { email: 'bob@acme.test', groups: [] } } });
  loopback = createServer((req, res) => {
    arrivals.push({ url: req.url ?? '', at: Date.now() });
    res.end('ok');
  });
  await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (loopback ? loopback.close(r) : r(undefined)));
  await gw?.stop();
  await op?.close();
});

describe.skipIf(!existsSync(CHROMIUM))('the CLI sign-in confirmation under a double-click', () => {
  it('takes no click that lands as the page appears; the reviewer’s own click, once the pointer moved over it, continues', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const start = new URL(`${gw.url}/auth/cli/start`);
    start.search = new URLSearchParams({
      redirect_uri: `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/callback`,
      state: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { page } = await browser.page();
    await page.goto(start.href);
    await page.locator('input[name="login"]').fill('bob');
    await page.locator('input[name="password"]').fill('any');
    for (let i = 0; i < 3 && !page.url().startsWith(`${gw.url}/`); i++) {
      const before = page.url();
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.href !== before, { timeout: 30_000 });
    }
    await page.getByRole('heading', { name: 'Sign in to the command line?' }).waitFor({ timeout: 30_000 });
    const link = page.locator('#cli-continue');
    const box = (await link.boundingBox())!;
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;

    // The second click of a double-click, on a page that just appeared under the pointer: it goes nowhere, and says why.
    await page.mouse.click(x, y);
    await page.getByText('move the pointer over this page', { exact: false }).waitFor({ timeout: 10_000 });
    expect(page.url().startsWith(`${gw.url}/`)).toBe(true);

    // Her own click, after the pointer moved over the page and a moment passed.
    await page.mouse.move(x + 2, y + 1);
    await page.locator('#cli-continue[data-deliberate="armed"]').waitFor({ timeout: 10_000 });
    const clicked = Date.now();
    await page.mouse.click(x, y);
    await page.waitForURL((u) => u.href.startsWith('http://127.0.0.1:') && u.pathname === '/callback', { timeout: 10_000 });
    // One arrival with the code (the browser may ask the listener for a favicon too), and only after her click.
    const codes = arrivals.filter((a) => a.url.startsWith('/callback?'));
    expect(codes).toHaveLength(1);
    expect(codes[0]!.at).toBeGreaterThanOrEqual(clicked);
    expect(new URL(codes[0]!.url, 'http://x').searchParams.get('code')).toBeTruthy();
  }, 120_000);
});
