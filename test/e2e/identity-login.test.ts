/**
 * The whole identity story against real parts on 127.0.0.1: an agent with a
 * GitHub-Actions-shaped token submits an action; a human signs in to the
 * console through the real OIDC login (authorization code + PKCE against
 * the `oidc-provider` package, in a real HTTP client session with cookies
 * and forms) and approves it; the audit events carry both canonical
 * identities (issuer + subject). Then the CLI signs the same human in by
 * the device authorization grant (`--device`, turned on in this config) and
 * acts with the saved token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { postLogin } from '../support/console.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gh: TestIssuer;
let people: TestIssuer;
let op: TestOidcProvider;
let gw: TestGateway;

/** Retries an assertion until it holds or the time is up. */
async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
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

const GH_SUB = 'repo:acme/deployer:environment:prod';

beforeAll(async () => {
  upstream = await startUpstream();
  gh = await startTestIssuer();
  people = await startTestIssuer('/people');
  op = await startTestOidcProvider();
  gw = await startTestGateway(`identity:
  issuers:
    - preset: github-actions
      issuer: ${gh.issuer}
      jwksUri: ${gh.jwksUri}
      audience: countersign-prod
      repositories: [{ id: 111, ownerId: 9 }]
    - issuer: ${op.issuer}
      audience: ${op.audience}
      principal: { kind: human, id: email, groups: groups, email: email }
      groupMap: { platform-oncall: [sre] }
    - issuer: ${people.issuer}
      jwksUri: ${people.jwksUri}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups }
${op.loginYaml()}    groupMap: { platform-oncall: [sre] }
    # The device grant, turned on by the operator (off by default: its code can be phished).
    cli: { deviceCode: true, clientId: ${op.cliClientId}, scopes: [openid, email, groups], resource: ${op.resource} }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST" && !facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: rotations
      when: facts.http.method == "POST" && facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  await op.configure({
    redirectUris: [`${gw.url}/auth/oidc/callback`],
    accounts: {
      bob: { email: 'bob@acme.test', groups: ['platform-oncall'] },
      dora: { email: 'dora@acme.test', groups: ['platform-oncall'] },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), gh?.close(), people?.close(), upstream?.close()]);
});

async function submitAsWorkflow(path: string): Promise<string> {
  const token = await gh.sign({ aud: 'countersign-prod', sub: GH_SUB, repository: 'acme/deployer', repository_id: '111', repository_owner_id: '9', job_workflow_ref: 'acme/deployer/.github/workflows/deploy.yml@refs/heads/main' });
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'release 1.2' }),
  });
  const body = (await res.json()) as { id: string; status: string };
  expect(res.status).toBe(202);
  return body.id;
}

/** Signs `login` in through the provider's own pages; returns the page the gateway sends them to. */
async function signIn(browser: HttpBrowser, login: string, next: string) {
  let page = await browser.follow(`${gw.url}/auth/oidc/start?next=${encodeURIComponent(next)}`);
  expect(page.url.startsWith(op.issuer), `${page.url} ${page.status} ${page.html.slice(0, 300)}`).toBe(true);
  page = await browser.submit(page, { login, password: 'any' });
  // The provider asks for consent the first time.
  if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
  return page;
}

describe('sign in with the identity provider, then approve', () => {
  it('an agent’s GitHub token submits, a human signs in by OIDC and approves; both canonical identities are in the audit log', async () => {
    const id = await submitAsWorkflow('/deploy/1');
    const browser = new HttpBrowser();
    const page = await signIn(browser, 'bob', `/requests/${id}`);
    expect(page.url).toBe(`${gw.url}/requests/${id}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('bob@acme.test');
    // The session cookie is the only thing the browser holds.
    expect([...browser.cookies(gw.url).keys()]).toEqual(['countersign_session']);

    const approved = await browser.submit(page, { verdict: 'approve', comment: 'release approved' }, { action: `/requests/${id}/review` });
    expect(approved.status).toBeLessThan(400);
    await eventually(async () => expect(await storedStatus(gw.deps.store, id)).toBe('succeeded'));
    expect(upstream.calls.filter((c) => c.url === '/ops/deploy/1')).toHaveLength(1);

    const events = (await storedAudit(gw.deps.store));
    const submitted = events.find((e) => e.type === 'request.submitted' && e.requestId === id)!;
    expect(submitted.actor).toBe('acme/deployer');
    expect((submitted.data as any).principal.identity).toEqual({ issuer: gh.issuer, subject: GH_SUB });
    const review = events.find((e) => e.type === 'review.recorded' && e.requestId === id)!;
    expect(review.actor).toBe('bob@acme.test');
    expect((review.data as any).identity).toEqual({ issuer: op.issuer, subject: 'bob' });
    const started = events.filter((e) => e.type === 'session.started').at(-1)!;
    expect(started).toMatchObject({ actor: 'bob@acme.test', data: { method: 'oidc', identity: { issuer: op.issuer, subject: 'bob' }, groups: ['sre'] } });
  });

  it('a callback that this browser did not start, or with a tampered state, makes no session', async () => {
    const stranger = new HttpBrowser();
    const direct = await stranger.request(`${gw.url}/auth/oidc/callback?code=abc&state=xyz`);
    expect(direct.status).toBe(400);
    expect(stranger.cookies(gw.url).has('countersign_session')).toBe(false);

    const browser = new HttpBrowser();
    const start = await browser.request(`${gw.url}/auth/oidc/start`);
    const authorize = new URL(start.headers.get('location')!);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started').length;
    const forged = await browser.request(`${gw.url}/auth/oidc/callback?code=abc&state=${authorize.searchParams.get('state')}x`);
    expect(forged.status).toBe(401);
    expect(browser.cookies(gw.url).has('countersign_session')).toBe(false);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started')).toHaveLength(before);
    // Both refusals are evidence: auth.failed with a stable reason, never the code or state sent.
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed' && e.data.surface === 'console');
    expect(failed.map((e) => e.data.reason)).toEqual(['login.flow_invalid', 'login.callback_invalid']);
    expect(failed[1]).toMatchObject({ actor: null, data: { issuer: op.issuer } });
    expect(JSON.stringify(failed)).not.toContain(authorize.searchParams.get('state')!);
  });

  it('refuses a flow cookie the gateway did not seal (one planted with another state, verifier and nonce): 400, no session', async () => {
    const browser = new HttpBrowser();
    await browser.request(`${gw.url}/auth/oidc/start`);
    const jar = browser.cookies(gw.url);
    const sealed = jar.get('countersign_oidc')!;
    const [payload, ...rest] = sealed.split('.');
    const flow = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const planted = { ...flow, state: 'planted-state', verifier: 'planted-verifier-planted-verifier-planted-verifier', nonce: 'planted-nonce' };
    jar.set('countersign_oidc', [Buffer.from(JSON.stringify(planted)).toString('base64url'), ...rest].join('.'));
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started').length;
    const res = await browser.request(`${gw.url}/auth/oidc/callback?code=attackers-code&state=planted-state`);
    expect(res.status).toBe(400);
    expect(browser.cookies(gw.url).has('countersign_session')).toBe(false);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started')).toHaveLength(before);
  });
});

describe('the console’s API-key form', () => {
  it('refuses a token, even a valid human one, like a key that matches no one: tokens sign in through SSO', async () => {
    const token = await people.sign({ sub: 'erin', aud: 'countersign', groups: ['sre'], email: 'erin@example.com', email_verified: true });
    // The token itself is good: it authenticates erin on the REST API.
    expect((await fetch(`${gw.url}/v1/requests`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started').length;
    const res = await postLogin(gw.url, token);
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('That key matches no one (UNAUTHENTICATED).');
    expect(res.headers.getSetCookie().some((c) => /^(__Host-)?countersign_session=/.test(c))).toBe(false);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'session.started')).toHaveLength(before);
  });
});

describe('countersign login --device (device authorization grant, where the operator turned it on)', () => {
  it('signs a human in for the CLI; the saved token then reviews as that human', async () => {
    const id = await submitAsWorkflow('/deploy/2');
    const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const credentials = join(dir, 'credentials.json');
    const env = { ...process.env, COUNTERSIGN_CREDENTIALS: credentials, COUNTERSIGN_KEY: '' };
    const cli = spawn(process.execPath, ['bin/countersign.js', 'login', '--device', '--url', gw.url], { env });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((r) => cli.on('exit', (code) => r(code ?? -1)));
    await eventually(() => expect(out).toMatch(/enter the code \S+/), 15_000);
    const [, uri, code] = /open (\S+) and enter the code (\S+)/.exec(out)!;

    const browser = new HttpBrowser();
    // The provider's pages, in whatever order it shows them: the code, the login, consent, confirmation.
    let page = await browser.follow(uri!);
    for (let i = 0; i < 6 && formsOf(page.html).length > 0; i++) {
      const fields = formsOf(page.html)[0]!.fields;
      page = await browser.submit(page, 'user_code' in fields ? { user_code: code! } : 'login' in fields ? { login: 'dora', password: 'any' } : {});
    }
    expect(await exited, out).toBe(0);
    expect(out).toContain('as dora@acme.test (human)');

    const approve = spawn(process.execPath, ['bin/countersign.js', 'requests', 'approve', id, '--url', gw.url, '-m', 'from the terminal'], { env });
    let said = '';
    approve.stdout.on('data', (d: Buffer) => (said += d.toString()));
    approve.stderr.on('data', (d: Buffer) => (said += d.toString()));
    expect(await new Promise<number>((r) => approve.on('exit', (c) => r(c ?? -1))), said).toBe(0);
    await eventually(async () => expect(await storedStatus(gw.deps.store, id)).toBe('succeeded'));
    const review = (await storedAudit(gw.deps.store)).find((e) => e.type === 'review.recorded' && e.requestId === id)!;
    expect(review.actor).toBe('dora@acme.test');
    expect((review.data as any).identity).toEqual({ issuer: op.issuer, subject: 'dora' });

    // One person, two channels, one vote: dora approves a two-approver request from the terminal, then tries again in the console.
    const rotation = await submitAsWorkflow('/rotate/keys');
    const again = spawn(process.execPath, ['bin/countersign.js', 'requests', 'approve', rotation, '--url', gw.url], { env });
    expect(await new Promise<number>((r) => again.on('exit', (c) => r(c ?? -1)))).toBe(0);
    const browserB = new HttpBrowser();
    const doraPage = await signIn(browserB, 'dora', `/requests/${rotation}`);
    expect(doraPage.url).toBe(`${gw.url}/requests/${rotation}`);
    // The page offers her no second vote; a forged form from her session is refused all the same.
    expect(formsOf(doraPage.html).some((f) => f.action === `/requests/${rotation}/review`)).toBe(false);
    const csrf = formsOf(doraPage.html).find((f) => f.fields['_csrf'])!.fields['_csrf']!;
    const digest = (await storedAudit(gw.deps.store)).find((e) => e.type === 'request.submitted' && e.requestId === rotation)!.data as { digest: string };
    const forged = await browserB.request(`${gw.url}/requests/${rotation}/review`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, digest: digest.digest, verdict: 'approve' }) });
    expect(forged.status).toBe(409);
    expect(forged.html).toContain('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, rotation)).toBe('pending');
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'review.recorded' && e.requestId === rotation)).toHaveLength(1);
  }, 60_000);
});
