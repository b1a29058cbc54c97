/**
 * The web console over plain HTTP: the session cookie and its attributes,
 * the security headers, CSRF and origin checks on every form, sign-out and
 * expiry — each refusal asserted by what did not change in the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { consoleRoutes } from '../../src/surfaces/http/console/index.ts';
import { manualClock } from '../support/clock.ts';
import { postEndless } from '../support/endless-body.ts';
import { getPage, postForm, postLogin, signIn, type ConsoleUser } from '../support/console.ts';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const body = (url: string) => `connections:
  - name: ops-api
    kind: http
    url: ${url}
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

let upstream: Upstream;
let gw: TestGateway;
const clock = manualClock();

beforeAll(async () => {
  upstream = await startUpstream();
  // alice reads the audit trail (auditor); the others hold no role (erin: only to be refused it).
  gw = await startTestGateway(body(upstream.url), {
    clock,
    principals: [...DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)), { id: 'erin', kind: 'human', groups: [] }],
  });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function hold(path: string): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path }, reason: 'console test' } });
  expect(res.status).toBe(202);
  return { id: res.body.id, digest: res.body.digest };
}

const sessionEvents = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type.startsWith('session.'));

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie on / holding only an opaque token, and records session.started', async () => {
    const before = (await sessionEvents()).length;
    const res = await postLogin(gw.url, gw.keys['alice']!, { next: '/activity' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/activity');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('countersign_session='))!;
    expect(cookie).toMatch(/^countersign_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(cookie).not.toContain('Secure'); // plain HTTP on 127.0.0.1
    expect(cookie).not.toContain(gw.keys['alice']!);
    const started = (await sessionEvents()).slice(before);
    expect(started).toMatchObject([{ type: 'session.started', actor: 'alice', data: { method: 'api-key', groups: ['sre'] } }]);
  });

  it('refuses an agent’s key (403) and an unknown key (401) and starts no session', async () => {
    const before = (await sessionEvents()).length;
    const agent = await postLogin(gw.url, gw.keys['deploy-bot']!);
    expect(agent.status).toBe(403);
    expect(await agent.text()).toContain('AGENT_CANNOT_SIGN_IN');
    expect(agent.headers.getSetCookie().some((c) => c.startsWith('countersign_session='))).toBe(false);
    const unknown = await postLogin(gw.url, 'cs_not-a-key');
    expect(unknown.status).toBe(401);
    expect((await sessionEvents()).length).toBe(before);
  });

  it('records every refused sign-in as auth.failed with its reason and never the key', async () => {
    const failures = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed');
    const before = (await failures()).length;
    const wrongKey = 'cs_wrong-key-that-matches-no-one';
    expect((await postLogin(gw.url, wrongKey)).status).toBe(401);
    expect((await postLogin(gw.url, gw.keys['deploy-bot']!)).status).toBe(403);
    const jwtShaped = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    expect((await postLogin(gw.url, jwtShaped)).status).toBe(401);
    const added = (await failures()).slice(before);
    expect(added).toMatchObject([
      { type: 'auth.failed', actor: null, data: { reason: 'key.unknown', surface: 'console' } },
      { type: 'auth.failed', actor: null, data: { reason: 'principal.agent', surface: 'console' } },
      { type: 'auth.failed', actor: null, data: { reason: 'key.is_token', surface: 'console' } },
    ]);
    const serialized = JSON.stringify(added);
    for (const secret of [wrongKey, gw.keys['deploy-bot']!, jwtShaped]) expect(serialized).not.toContain(secret);
  });

  it('refuses the sign-in form without its own CSRF cookie, and never redirects off the site', async () => {
    const forged = await postForm(gw.url, undefined, '/login', { key: gw.keys['alice']!, _csrf: 'guess' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF_REJECTED');
    for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil.example/']) {
      expect((await postLogin(gw.url, gw.keys['alice']!, { next })).headers.get('location')).toBe('/');
    }
  });

  it('refuses a sign-in form whose body never ends once it passes the body limit, without waiting for the rest', async () => {
    const answer = await postEndless(`${gw.url}/login`, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(413);
    expect(answer.body).toContain('PAYLOAD_TOO_LARGE');
  }, 10_000);

  it('sends a page to the sign-in form when there is no session, and keeps where it was going', async () => {
    const res = await getPage(gw.url, undefined, '/activity?status=pending');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2Factivity%3Fstatus%3Dpending');
  });
});

describe('headers', () => {
  it('serves every page with a strict CSP, no framing, no sniffing and no caching', async () => {
    const alice = await signIn(gw.url, gw.keys['alice']!);
    for (const path of ['/', '/activity', '/audit', '/policy', '/login']) {
      const res = await getPage(gw.url, alice, path);
      expect([200, 303]).toContain(res.status);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    // A page refused for want of a role carries the same headers.
    const refused = await getPage(gw.url, await signIn(gw.url, gw.keys['erin']!), '/audit');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const page = await (await getPage(gw.url, alice, '/')).text();
    expect(page).not.toMatch(/<script>|<script(?![^>]*src="\/assets\/console\.js")|\son[a-z]+=|style="/);
  });

  it('serves every HTML answer of every console page, including any added later, with no framing and the strict CSP', async () => {
    const alice = await signIn(gw.url, gw.keys['alice']!);
    const { id } = await hold('/headers/every-page');
    const day = new Date().toISOString().slice(0, 10);
    const pages = consoleRoutes(gw.deps).routes.filter((r) => r.method === 'GET' && !r.path.startsWith('/assets/'));
    expect(pages.map((r) => r.path)).toContain('/requests/:id');
    let html = 0;
    for (const route of pages) {
      for (const user of [alice, undefined]) {
        const res = await getPage(gw.url, user, `${route.path.replace(':id', id)}?from=${day}&to=${day}&format=html`);
        await res.body?.cancel();
        if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) continue;
        html++;
        expect({ path: route.path, csp: res.headers.get('content-security-policy') }).toEqual({ path: route.path, csp: expect.stringContaining("frame-ancestors 'none'") });
        expect({ path: route.path, xfo: res.headers.get('x-frame-options') }).toEqual({ path: route.path, xfo: 'DENY' });
      }
    }
    expect(html).toBeGreaterThan(10);
  });

  it('marks the cookie Secure under a __Host- name when configured for TLS in front', async () => {
    const tls = await startTestGateway(`${body(upstream.url)}console: { secureCookies: true }\n`);
    try {
      const res = await postLogin(tls.url, tls.keys['alice']!);
      const cookie = res.headers.getSetCookie().find((c) => c.includes('countersign_session='))!;
      expect(cookie).toMatch(/^__Host-countersign_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    } finally {
      await tls.stop();
    }
  });
});

describe('forms', () => {
  let alice: ConsoleUser;
  beforeAll(async () => {
    alice = await signIn(gw.url, gw.keys['alice']!);
  });

  it('refuses a review without the CSRF token (403) and changes nothing', async () => {
    const { id, digest } = await hold('/csrf/missing');
    const audit = (await storedAudit(gw.deps.store)).length;
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('CSRF_REJECTED');
    const wrong = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: `${alice.csrf.slice(0, -1)}x` });
    expect(wrong.status).toBe(403);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect((await storedAudit(gw.deps.store)).length).toBe(audit);
  });

  it('refuses a review from another origin even with the right token', async () => {
    const { id, digest } = await hold('/csrf/origin');
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: alice.csrf }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    const site = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: alice.csrf }, { 'sec-fetch-site': 'cross-site' });
    expect(site.status).toBe(403);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });

  it('every state-changing console route, including any added later, refuses a form without the token or from another site', async () => {
    const { id, digest } = await hold('/csrf/every-route');
    // The console's own route table: a route added later is in it, and so in this test, without anyone listing it here.
    const routes = consoleRoutes(gw.deps).routes.filter((r) => r.method !== 'GET' && r.method !== 'ALL');
    expect(routes.map((r) => r.path)).toContain('/requests/:id/review');
    const audit = (await storedAudit(gw.deps.store)).length;
    for (const route of routes) {
      const path = route.path.replace(':id', id);
      const fields = { verdict: 'approve', digest, confirm: 'yes', justification: 'urgent', reason: 'r', key: gw.keys['alice']! };
      for (const [what, extra, headers] of [
        ['no token', {}, {}],
        ['another site', { _csrf: alice.csrf }, { 'sec-fetch-site': 'cross-site' }],
        ['another origin', { _csrf: alice.csrf }, { origin: 'http://evil.example' }],
        ['an opaque origin', { _csrf: alice.csrf }, { origin: 'null' }],
      ] as const) {
        const res = await postForm(gw.url, alice, path, { ...fields, ...extra }, headers);
        expect({ route: `${route.method} ${route.path}`, what, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, what, status: 403 });
        expect(await res.text()).toContain('CSRF_REJECTED');
      }
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect((await storedAudit(gw.deps.store)).length).toBe(audit);
  });

  it('refuses a form with no session (401), whatever it carries', async () => {
    const { id, digest } = await hold('/csrf/nosession');
    const res = await postForm(gw.url, undefined, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: alice.csrf });
    expect(res.status).toBe(401);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });

  it('records a review sent with the token from the same origin, bound to the digest shown', async () => {
    const { id, digest } = await hold('/csrf/ok');
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, comment: 'fine', confirm: 'yes', _csrf: alice.csrf }, { origin: gw.url });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/requests/${id}?done=approve`);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    const stale = await hold('/csrf/stale');
    const mismatch = await postForm(gw.url, alice, `/requests/${stale.id}/review`, { verdict: 'approve', digest: `sha256:${'0'.repeat(64)}`, confirm: 'yes', _csrf: alice.csrf });
    expect(mismatch.status).toBe(409);
    expect(await storedStatus(gw.deps.store, stale.id)).toBe('pending');
  });

  it('shows the requester side no review buttons, and refuses their review with the right token', async () => {
    const carol = await signIn(gw.url, gw.keys['carol']!); // deploy-bot acts for carol
    const { id, digest } = await hold('/csrf/self');
    const page = await (await getPage(gw.url, carol, `/requests/${id}`)).text();
    expect(page).not.toContain('value="approve"');
    expect(page).toContain('You asked for this request');
    const res = await postForm(gw.url, carol, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: carol.csrf });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('SELF_APPROVAL_FORBIDDEN');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    // alice may: the same page shows her the buttons
    expect(await (await getPage(gw.url, alice, `/requests/${id}`)).text()).toContain('value="approve"');
  });
});

describe('session end', () => {
  it('sign-out ends the session server-side: the old cookie no longer opens a page', async () => {
    const bob = await signIn(gw.url, gw.keys['bob']!);
    expect((await getPage(gw.url, bob, '/')).status).toBe(200);
    const noToken = await postForm(gw.url, bob, '/logout', {});
    expect(noToken.status).toBe(403);
    const out = await postForm(gw.url, bob, '/logout', { _csrf: bob.csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.getSetCookie().join()).toMatch(/countersign_session=; Max-Age=0; Path=\//);
    expect((await getPage(gw.url, bob, '/')).status).toBe(303);
    expect((await sessionEvents()).filter((e) => e.actor === 'bob').map((e) => [e.type, e.data['reason']])).toEqual([
      ['session.started', undefined],
      ['session.ended', 'logout'],
    ]);
  });

  it('a session past its expiry opens nothing and is ended as expired', async () => {
    const dave = await signIn(gw.url, gw.keys['dave']!);
    expect((await getPage(gw.url, dave, '/')).status).toBe(200);
    clock.advance(8 * 3600_000 + 1000);
    try {
      expect((await getPage(gw.url, dave, '/')).status).toBe(303);
      expect((await sessionEvents()).filter((e) => e.actor === 'dave').map((e) => [e.type, e.data['reason']])).toEqual([
        ['session.started', undefined],
        ['session.ended', 'expired'],
      ]);
    } finally {
      clock.advance(-(8 * 3600_000 + 1000));
    }
  });

  it('a new sign-in in the same browser replaces the old session', async () => {
    const first = await signIn(gw.url, gw.keys['alice']!);
    const again = await fetch(`${gw.url}/login`, { headers: { cookie: first.cookie }, redirect: 'manual' });
    expect(again.status).toBe(303); // already signed in
    const events = (await sessionEvents()).length;
    const page = await fetch(`${gw.url}/login?next=/`, { headers: {} });
    const login = page.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const res = await fetch(`${gw.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `${login}; ${first.cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, key: gw.keys['alice']! }),
    });
    expect(res.status).toBe(303);
    // The expiry sweep may still be ending, at its own pace, the sessions the test before made expire with its clock.
    const fresh = (await sessionEvents()).slice(events).filter((e) => e.data['reason'] !== 'expired');
    expect(fresh.map((e) => [e.type, e.data['reason']])).toEqual([
      ['session.ended', 'replaced'],
      ['session.started', undefined],
    ]);
    expect((await getPage(gw.url, first, '/')).status).toBe(303);
  });
});

describe('a session opened with an API key, after the configuration changes', () => {
  // One store, two gateways in turn: the second starts on a configuration where bob's key was replaced, frank was
  // removed and gina moved from sre to dev. Their cookies from the first gateway are tried on the second.
  let dir: string;
  let second: TestGateway | undefined;
  afterAll(async () => {
    await second?.stop();
    if (dir) await releaseTestStore(join(dir, 'countersign.db'));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The YAML with one principal's block replaced (or removed, with `to` empty). */
  const edit = (yaml: string, id: string, to: (block: string) => string) =>
    yaml.replace(new RegExp(`  - id: ${id}\\n(?:    .*\\n)+`), (block) => to(block));

  it('ends when its key is gone or replaced, or its human is gone; groups are always those configured now', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-session-keys-'));
    const keys: Record<string, string> = {};
    const people = [...DEFAULT_PRINCIPALS, { id: 'frank', kind: 'human' as const, groups: ['sre'] }, { id: 'gina', kind: 'human' as const, groups: ['sre'] }];
    const yaml = `${await storeYaml(configYaml(people, keys, body(upstream.url), join(dir, 'countersign.db')))}\n`;
    const first = await startTestGateway(yaml, { dir, keys });
    const users: Record<string, ConsoleUser> = {};
    try {
      for (const id of ['alice', 'bob', 'frank', 'gina']) users[id] = await signIn(first.url, keys[id]!);
    } finally {
      await first.stop();
    }

    const replacement = generateApiKey();
    let changed = edit(yaml, 'bob', (b) => b.replace(/apiKeys: \[.*\]/, `apiKeys: ["${replacement.hash}"]`));
    changed = edit(changed, 'frank', () => '');
    changed = edit(changed, 'gina', (b) => b.replace('groups: [sre]', 'groups: [dev]'));
    expect(changed).not.toContain('id: frank');
    second = await startTestGateway(changed, { dir, keys: { ...keys, bob: replacement.key } });
    const gw2 = second;
    const held = await gw2.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rekeyed' }, reason: 'console test' } });
    expect(held.status).toBe(202);
    const { id, digest } = held.body as { id: string; digest: string };
    const review = (who: string) => postForm(gw2.url, users[who], `/requests/${id}/review`, { verdict: 'approve', digest, confirm: 'yes', _csrf: users[who]!.csrf }, { origin: gw2.url });

    // bob's session came from a key the configuration no longer holds: a form is 401, a page sends him to sign in.
    const bob = await review('bob');
    expect(bob.status).toBe(401);
    expect(await bob.text()).toContain('UNAUTHENTICATED');
    expect((await getPage(gw2.url, users['bob'], '/')).status).toBe(303);
    // frank is no longer configured at all.
    expect((await review('frank')).status).toBe(401);
    // gina is signed in still, as the configuration sees her now: a dev, no approver, to whom the request is unknown.
    expect((await getPage(gw2.url, users['gina'], '/')).status).toBe(200);
    const gina = await review('gina');
    expect(gina.status).toBe(404);
    expect(await gina.text()).toContain('NOT_FOUND');
    expect(await storedReviewers(gw2.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw2.deps.store, id)).toBe('pending');

    const ended = (await storedAudit(gw2.deps.store)).filter((e) => e.type === 'session.ended');
    expect(ended.filter((e) => e.actor === 'bob').map((e) => e.data['reason'])).toEqual(['credential-removed']);
    expect(ended.filter((e) => e.actor === 'frank').map((e) => e.data['reason'])).toEqual(['principal-changed']);
    // bob with his new key signs in again; alice, whose key stayed, approves with her session from before the restart.
    expect((await getPage(gw2.url, await signIn(gw2.url, replacement.key), '/')).status).toBe(200);
    expect((await review('alice')).status).toBe(303);
    expect(await storedReviewers(gw2.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
  });
});
