/**
 * `countersign login` against real parts on 127.0.0.1: the gateway, the
 * `oidc-provider` package, the compiled CLI. The CLI signs a human in through
 * the browser (RFC 8252: a loopback redirect, state and PKCE); the gateway runs
 * the sign-in at the provider with its own confidential client, as the console
 * does, and hands the CLI a credential of its own through a one-time code that
 * only the PKCE verifier of the login that asked for it redeems.
 *
 * The hole this closes: an agent that starts the device authorization grant
 * (RFC 8628) with the CLI's public client and sends a reviewer the code ("please
 * sign in to Countersign") gets the reviewer's token when she signs in. By
 * default that grant is not the CLI's, and tokens issued through that client
 * are not taken: the agent approves nothing.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, clickAsReader, launchBrowser } from '../support/browser.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser, type Page } from '../support/http-browser.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let op: TestOidcProvider;
let gw: TestGateway;

async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

beforeAll(async () => {
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  // The configuration a gateway had before: `cli:` names the CLI's public client, and says nothing of the device grant.
  gw = await startTestGateway(`identity:
  issuers:
    - issuer: ${op.issuer}
      audience: ${op.audience}
      principal: { kind: human, id: email, groups: groups, email: email }
      groupMap: { platform-oncall: [sre] }
${op.loginYaml()}    groupMap: { platform-oncall: [sre] }
    cli: { clientId: ${op.cliClientId}, scopes: [openid, email, groups], resource: ${op.resource} }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  await op.configure({
    redirectUris: [`${gw.url}/auth/oidc/callback`],
    accounts: { bob: { email: 'bob@acme.test', groups: ['platform-oncall'] }, dora: { email: 'dora@acme.test', groups: ['platform-oncall'] } },
  });
}, 60_000);

/** The CLI's credential directories this file made, removed after it. */
const cliDirs: string[] = [];
afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), upstream?.close()]);
  for (const d of cliDirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A request of an agent acting for nobody: dora is someone the configuration does not name, and on a request of an
 * agent acting for a configured human who never signed in (deploy-bot for carol) she could be that human under a new
 * address (IDENTITY_NOT_DISTINCT, identity-unlinked-side.test.ts).
 */
async function submitAsAgent(path: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['other-bot']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'release' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function approveWith(token: string, id: string) {
  const res = await fetch(`${gw.url}/v1/requests/${id}/reviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ verdict: 'approve', comment: 'lgtm' }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; reason?: string } } };
}

/** The reviewer signs in on the provider's own pages until `done` says the browser got where it was sent. */
async function reviewerSignsIn(browser: HttpBrowser, first: Page, login: string, done: (url: string) => boolean, extra: Record<string, string> = {}): Promise<Page> {
  let page = first;
  for (let i = 0; i < 8 && !done(page.url) && formsOf(page.html).length > 0; i++) {
    const fields = formsOf(page.html)[0]!.fields;
    page = await browser.submit(page, 'login' in fields ? { login, password: 'any' } : Object.keys(extra).some((k) => k in fields) ? extra : {}, { stop: done });
  }
  return page;
}

describe('device-code phishing: an agent runs the device grant with the CLI’s public client', () => {
  it('is not offered, and the reviewer’s token it obtains approves nothing (401 token.client_not_allowed)', async () => {
    const id = await submitAsAgent('/deploy/phish');
    // What the gateway tells anyone about the CLI's sign-in: no provider client to run a grant with.
    const offered = (await (await fetch(`${gw.url}/auth/cli`)).json()) as Record<string, unknown>;
    expect(offered['clientId']).toBeUndefined();
    expect(offered['deviceCode']).toBeUndefined();

    // The agent knows the CLI's client id all the same (a release, the docs) and starts the grant itself.
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { device_authorization_endpoint: string; token_endpoint: string };
    const started = await fetch(discovery.device_authorization_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: op.cliClientId, scope: 'openid email groups', resource: op.resource }).toString(),
    });
    const device = (await started.json()) as { device_code: string; user_code: string; verification_uri: string };
    expect(started.status).toBe(200);

    // "Please sign in to Countersign": the reviewer enters the code on the provider's genuine page and signs in.
    const browser = new HttpBrowser();
    const first = await browser.follow(device.verification_uri);
    await reviewerSignsIn(browser, first, 'bob', () => false, { user_code: device.user_code });
    const res = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: op.cliClientId, resource: op.resource }).toString(),
    });
    const tokens = (await res.json()) as { access_token?: string };
    expect(res.status, JSON.stringify(tokens)).toBe(200);
    // The provider's genuine word about bob, for the gateway's audience: the gateway cannot tell which grant produced it.
    const claims = JSON.parse(Buffer.from(tokens.access_token!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: op.issuer, aud: op.audience, sub: 'bob', client_id: op.cliClientId });

    const approval = await approveWith(tokens.access_token!, id);
    expect(approval.status).toBe(401);
    expect(approval.body.error?.code).toBe('UNAUTHENTICATED');
    expect(approval.body.error?.message).toContain('token.client_not_allowed');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    const events = await storedAudit(gw.deps.store);
    expect(events.filter((e) => e.type === 'review.recorded' && e.requestId === id)).toHaveLength(0);
    expect(upstream.calls.filter((c) => c.url === '/ops/deploy/phish')).toHaveLength(0);
  }, 60_000);
});

/** The gateway's last page of a CLI sign-in: the human confirms; its link goes to the loopback address with the code. */
function continueLink(p: Page): string {
  expect(p.html, p.html.slice(0, 300)).toContain('Sign in to the command line?');
  const href = /<a [^>]*id="cli-continue"[^>]*href="([^"]+)"/.exec(p.html)?.[1];
  expect(href).toBeTruthy();
  return href!.replaceAll('&amp;', '&');
}

/** The compiled CLI, its output gathered as it comes. */
function runCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number> } {
  const child = spawn(process.execPath, ['bin/countersign.js', ...args], { env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1))) };
}

function cliEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
  cliDirs.push(dir);
  const credentials = join(dir, 'credentials.json');
  return { env: { ...process.env, COUNTERSIGN_CREDENTIALS: credentials, COUNTERSIGN_KEY: '' }, credentials };
}

const START_URL = /(http:\/\/127\.0\.0\.1:\d+\/auth\/cli\/start\?\S+)/;

describe('countersign login: the browser, a loopback redirect, PKCE', () => {
  it('signs a human in end to end; the saved credential is the gateway’s, and it reviews as that human', async () => {
    const id = await submitAsAgent('/deploy/cli');
    const { env, credentials } = cliEnv();
    const cli = runCli(['login', '--url', gw.url, '--no-browser'], env);
    await eventually(() => expect(cli.out()).toMatch(START_URL), 20_000);
    const start = new URL(START_URL.exec(cli.out())![1]!);
    const loopback = new URL(start.searchParams.get('redirect_uri')!);
    expect(loopback.hostname).toBe('127.0.0.1');
    expect(loopback.pathname).toBe('/callback');
    expect(start.searchParams.get('code_challenge_method')).toBe('S256');

    const browser = new HttpBrowser();
    const first = await browser.follow(start.href);
    expect(first.url.startsWith(`${op.issuer}/`), first.url).toBe(true);
    const confirm = await reviewerSignsIn(browser, first, 'dora', (u) => u.startsWith(`${loopback.origin}/`));
    // The gateway asks her first: a sign-in she did not start herself is one to close.
    expect(confirm.html).toContain('dora@acme.test');
    const link = continueLink(confirm);
    expect(link.startsWith(`${loopback.origin}/callback?`), link).toBe(true);
    // She continues: the browser arrives at the CLI's loopback address with the code.
    const arrived = await browser.request(link);
    expect(arrived.status).toBe(200);
    expect(arrived.html).toContain('Signed in');
    expect(await cli.exited, cli.out()).toBe(0);
    expect(cli.out()).toContain('as dora@acme.test (human)');

    const saved = JSON.parse(readFileSync(credentials, 'utf8')) as Record<string, { token: string }>;
    const token = Object.values(saved)[0]!.token;
    expect(token.startsWith('csl_')).toBe(true);
    // No provider token reaches the CLI (nor the browser): what it holds is a gateway sign-in.
    expect(token.split('.')).toHaveLength(1);

    const approve = runCli(['requests', 'approve', id, '--url', gw.url, '-m', 'from the terminal'], env);
    expect(await approve.exited, approve.out()).toBe(0);
    await eventually(async () => expect(await storedStatus(gw.deps.store, id)).toBe('succeeded'));
    const events = await storedAudit(gw.deps.store);
    const review = events.find((e) => e.type === 'review.recorded' && e.requestId === id)!;
    expect(review.actor).toBe('dora@acme.test');
    expect((review.data as Record<string, unknown>)['identity']).toEqual({ issuer: op.issuer, subject: 'dora' });
    const started = events.filter((e) => e.type === 'session.started').at(-1)!;
    expect(started).toMatchObject({ actor: 'dora@acme.test', data: { method: 'oidc-cli', groups: ['sre'], context: { surface: 'cli' } } });
    expect(JSON.stringify(events)).not.toContain(token);

    // `countersign logout` ends the sign-in at the gateway too: the credential is refused from then on.
    const logout = runCli(['logout', '--url', gw.url], env);
    expect(await logout.exited, logout.out()).toBe(0);
    const after = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
  }, 90_000);

  it('refuses an answer at the loopback whose state is not the one it sent (LOGIN_STATE_MISMATCH), and redeems nothing', async () => {
    const { env } = cliEnv();
    const cli = runCli(['login', '--url', gw.url, '--no-browser'], env);
    await eventually(() => expect(cli.out()).toMatch(START_URL), 20_000);
    const start = new URL(START_URL.exec(cli.out())![1]!);
    const before = (await storedAudit(gw.deps.store)).length;
    const answer = await fetch(`${start.searchParams.get('redirect_uri')}?code=planted-code&state=${start.searchParams.get('state')}x`);
    expect(answer.status).toBe(400);
    expect(await cli.exited).toBe(1);
    expect(cli.out()).toContain('LOGIN_STATE_MISMATCH');
    // The CLI did not take the planted code to the gateway: no redemption was tried, none refused.
    expect(await storedAudit(gw.deps.store)).toHaveLength(before);
  }, 60_000);
});

describe.skipIf(!existsSync(CHROMIUM))('countersign login in a real browser (headless Chromium)', () => {
  it('the provider’s pages, the gateway’s confirmation, a click, and the CLI is signed in', async () => {
    const { env } = cliEnv();
    const cli = runCli(['login', '--url', gw.url, '--no-browser'], env);
    await eventually(() => expect(cli.out()).toMatch(START_URL), 20_000);
    const chromium = await launchBrowser();
    try {
      const { page } = await chromium.page();
      await page.goto(START_URL.exec(cli.out())![1]!);
      // The provider's own pages: the login, then consent (the first time).
      await page.locator('input[name="login"]').fill('bob');
      await page.locator('input[name="password"]').fill('any');
      // Each submit is waited for until the browser has left the page it was on.
      for (let i = 0; i < 3 && !page.url().startsWith(`${gw.url}/`); i++) {
        const before = page.url();
        await page.locator('button[type="submit"]').click();
        await page.waitForURL((u) => u.href !== before, { timeout: 30_000 });
      }
      await page.getByRole('heading', { name: 'Sign in to the command line?' }).waitFor({ timeout: 30_000 });
      await clickAsReader(page, page.getByRole('link', { name: 'Continue to countersign login' }));
      await page.getByText('Signed in. You can close this tab').waitFor({ timeout: 30_000 });
      expect(await cli.exited, cli.out()).toBe(0);
      expect(cli.out()).toContain('as bob@acme.test (human)');
    } finally {
      await chromium.close();
      cli.child.kill();
    }
  }, 120_000);
});

/** What a CLI sends to /auth/cli/start, and the code the browser brings back to its loopback. */
async function codeFor(login: string, opts: { verifier?: string; redirect?: string } = {}) {
  const verifier = opts.verifier ?? randomBytes(32).toString('base64url');
  const redirect = opts.redirect ?? 'http://127.0.0.1:9/callback';
  const state = randomBytes(16).toString('base64url');
  const start = new URL(`${gw.url}/auth/cli/start`);
  start.search = new URLSearchParams({ redirect_uri: redirect, state, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }).toString();
  const browser = new HttpBrowser();
  const atLoopback = (u: string) => u.startsWith(redirect);
  const first = await browser.follow(start.href, {}, atLoopback);
  const last = await reviewerSignsIn(browser, first, login, atLoopback);
  const back = new URL(continueLink(last));
  expect(back.href.startsWith(redirect)).toBe(true);
  expect(back.searchParams.get('state')).toBe(state);
  const code = back.searchParams.get('code');
  expect(code, last.url).toBeTruthy();
  return { code: code!, verifier, redirect };
}

async function redeem(body: Record<string, string | undefined>) {
  const res = await fetch(`${gw.url}/auth/cli/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { token?: string; error?: { code: string; reason?: string; message: string } } };
}

describe('the one-time code the loopback receives', () => {
  it('is redeemed once, with the verifier of the login that asked for it; a replay is refused (LOGIN_CODE_INVALID, login.code_invalid)', async () => {
    const { code, verifier, redirect } = await codeFor('bob');
    const first = await redeem({ code, code_verifier: verifier, redirect_uri: redirect });
    expect(first.status).toBe(200);
    expect(first.body.token?.startsWith('csl_')).toBe(true);
    expect((await (await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${first.body.token}` } })).json()) as unknown).toMatchObject({ id: 'bob@acme.test', kind: 'human' });

    const replay = await redeem({ code, code_verifier: verifier, redirect_uri: redirect });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toMatchObject({ code: 'LOGIN_CODE_INVALID', reason: 'login.code_invalid' });
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').at(-1)!;
    expect(failed.data).toMatchObject({ reason: 'login.code_invalid', surface: 'cli' });
    expect(JSON.stringify(failed)).not.toContain(code);
  }, 60_000);

  it('redeemed twice at once, gives one credential: the other is refused (login.code_invalid)', async () => {
    const { code, verifier, redirect } = await codeFor('bob');
    const both = await Promise.all([1, 2].map(() => redeem({ code, code_verifier: verifier, redirect_uri: redirect })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(both.find((r) => r.status === 400)!.body.error).toMatchObject({ code: 'LOGIN_CODE_INVALID', reason: 'login.code_invalid' });
  }, 60_000);

  it('without the verifier, or with another, is refused (login.verifier_invalid) and spent: the right verifier then gets nothing', async () => {
    for (const wrong of [undefined, randomBytes(32).toString('base64url')]) {
      const { code, verifier, redirect } = await codeFor('bob');
      const refused = await redeem({ code, code_verifier: wrong, redirect_uri: redirect });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'LOGIN_CODE_INVALID', reason: 'login.verifier_invalid' });
      expect(refused.body.token).toBeUndefined();
      const late = await redeem({ code, code_verifier: verifier, redirect_uri: redirect });
      expect(late.body.error).toMatchObject({ code: 'LOGIN_CODE_INVALID', reason: 'login.code_invalid' });
    }
  }, 60_000);

  it('is refused for another loopback address than the one it was sent to', async () => {
    const { code, verifier } = await codeFor('bob', { redirect: 'http://127.0.0.1:9/callback' });
    const refused = await redeem({ code, code_verifier: verifier, redirect_uri: 'http://127.0.0.1:10/callback' });
    expect(refused.body.error).toMatchObject({ code: 'LOGIN_CODE_INVALID', reason: 'login.code_invalid' });
  }, 60_000);

  it('is sent only to a loopback address: any other redirect is refused before the provider is asked', async () => {
    for (const redirect of ['https://agent.example/callback', 'http://localhost:9/callback', 'http://127.0.0.1:9/elsewhere', 'http://127.0.0.1/callback', 'http://127.0.0.1:9/callback#x']) {
      const start = new URL(`${gw.url}/auth/cli/start`);
      start.search = new URLSearchParams({ redirect_uri: redirect, state: 'abcdefghijklmnop', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
      const res = await fetch(start, { redirect: 'manual' });
      expect(res.status, redirect).toBe(400);
      expect(await res.text()).toContain('INVALID_REQUEST');
    }
    const plain = new URL(`${gw.url}/auth/cli/start`);
    plain.search = new URLSearchParams({ redirect_uri: 'http://127.0.0.1:9/callback', state: 'abcdefghijklmnop', code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }).toString();
    expect((await fetch(plain, { redirect: 'manual' })).status).toBe(400);
  });

  it('gives a credential that is no console session, and a console session is no credential for the API', async () => {
    const { code, verifier, redirect } = await codeFor('dora');
    const { body } = await redeem({ code, code_verifier: verifier, redirect_uri: redirect });
    const asCookie = await fetch(`${gw.url}/`, { headers: { cookie: `countersign_session=${body.token}` }, redirect: 'manual' });
    expect(asCookie.status).toBe(303);

    const browser = new HttpBrowser();
    const first = await browser.follow(`${gw.url}/auth/oidc/start`);
    await reviewerSignsIn(browser, first, 'dora', (u) => u === `${gw.url}/`);
    const cookie = browser.cookies(gw.url).get('countersign_session')!;
    expect(cookie).toBeTruthy();
    for (const bearer of [cookie, `csl_${cookie}`]) {
      expect((await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(401);
    }
  }, 60_000);
});
