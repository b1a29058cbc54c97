/**
 * Step-up for risky approvals, end to end: a rule with `stepUp: webauthn`
 * makes an approval count only with a passkey confirmation in the console.
 * Chromium with a virtual authenticator (DevTools protocol, WebAuthn domain)
 * registers a passkey and approves; then the attacks: an API key, the plain
 * console form and a Slack click do not decide; a replayed assertion, one
 * moved to another request, another human's passkey and an authenticator that
 * did not verify its user are refused; a second passkey needs the first, a
 * first one a recent sign-in; agents never get there. Breaking the glass on a
 * step-up request needs a passkey too: refused over REST, the CLI and the plain
 * form, run once from the console with one, and an answer to an approval's
 * challenge does not break the glass (nor the other way round). Removing a
 * passkey needs one too (a thief with a fresh API-key sign-in can neither
 * remove the victim's nor enrol their own); an administrator removes another
 * human's without one, and nobody else does.
 */
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { manualClock } from '../support/clock.ts';
import { getPage, postForm, postLogin, signIn, type ConsoleUser } from '../support/console.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { agent, human } from '../support/fixtures.ts';
import { review } from '../../src/service/review.ts';
import { approveWithPasskey, stepUpOptions as stepUpOptionsOf } from '../../src/service/step-up.ts';
import { executeApproved } from '../../src/service/execute.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { runCli } from '../support/run-cli.ts';
import { breakGlass } from '../../src/service/break-glass.ts';
import { mintStepUp } from '../../src/service/step-up-evidence.ts';
import { passkeyRegistrationOptions, removePasskey } from '../../src/service/passkeys.ts';

const EMAILS: Record<string, string> = { alice: 'alice@example.com', bob: 'bob@example.com' };

let slack: FakeSlack;
let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;
/** The console as a browser must reach it for WebAuthn: a secure context on the RP id `localhost`. */
let origin: string;
const clock = manualClock();

interface Reviewer {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  user: ConsoleUser;
}
const reviewers: Record<string, Reviewer> = {};

beforeAll(async () => {
  slack = await startFakeSlack();
  for (const [id, email] of Object.entries(EMAILS)) slack.users.set(`U${id.toUpperCase()}`, { id: `U${id.toUpperCase()}`, email });
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(
    `channels:
${slack.channelYaml()}
connections:
  - { name: ops, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: risky
      when: facts.http.path.startsWith("/risky")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
    - id: risky-two
      when: facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: two-step-up
      when: facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
    - id: glass
      when: facts.http.path.startsWith("/glass")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      stepUp: webauthn
      breakGlass: { groups: [oncall] }
    - id: granted-step-up
      when: facts.http.path.startsWith("/granted")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
      grant: { maxUses: 2, maxDuration: 1h, vary: [body.n] }
`,
    { principals: [...DEFAULT_PRINCIPALS.map((p) => (EMAILS[p.id] ? { ...p, email: EMAILS[p.id] } : p)), { id: 'erin', kind: 'human', groups: ['sre', 'oncall'] }, { id: 'root', kind: 'human', groups: [], roles: ['admin'] }], clock },
  );
  origin = gw.url.replace('127.0.0.1', 'localhost');
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await slack?.close();
  await upstream?.close();
});

async function hold(path = '/risky/restart'): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path }, reason: 'needed' } });
  expect(res.status).toBe(202);
  return { id: res.body.id as string, digest: res.body.digest as string };
}

const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;

/** A browser of `who`, signed in at `origin`, with a virtual platform authenticator that verifies its user. */
async function reviewer(who: string): Promise<Reviewer> {
  const { context, page } = await browser.page();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.goto(`${origin}/login`);
  await page.getByLabel('Your API key').fill(gw.keys[who]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'countersign_session')!;
  const csrf = (await page.locator('input[name=_csrf]').first().getAttribute('value'))!;
  const r = { page, cdp, authenticatorId, user: { cookie: `${session.name}=${session.value}`, csrf, setCookie: '' } };
  reviewers[who] = r;
  return r;
}

async function registerPasskey(r: Reviewer, label: string): Promise<void> {
  await r.page.goto(`${origin}/account/passkeys`);
  await r.page.getByLabel(/Label/).fill(label);
  await r.page.getByRole('button', { name: 'Register a passkey' }).click();
  await r.page.waitForURL(`${origin}/account/passkeys?done=registered`);
}

/**
 * In `r`'s browser: an assertion by its authenticator over `options` (PublicKeyCredentialRequestOptionsJSON), encoded
 * as the console's script sends it; `userVerification` and `allowCredentials` may be overridden, as a modified client would.
 */
async function assertWith(r: Reviewer, options: Record<string, any>, override: { userVerification?: string; anyCredential?: boolean } = {}): Promise<Record<string, unknown>> {
  return r.page.evaluate(
    async ({ options, override }) => {
      const buf = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
      const text = (b: ArrayBuffer | null) => (b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : undefined);
      const cred = await (globalThis as any).navigator.credentials.get({
        publicKey: {
          ...options,
          challenge: buf(options.challenge),
          allowCredentials: override.anyCredential ? [] : (options.allowCredentials ?? []).map((c: { id: string; type: 'public-key' }) => ({ id: buf(c.id), type: c.type })),
          userVerification: override.userVerification ?? options.userVerification,
        },
      });
      const res = cred.response;
      return {
        id: cred.id,
        rawId: text(cred.rawId),
        type: cred.type,
        clientExtensionResults: {},
        response: { clientDataJSON: text(res.clientDataJSON), authenticatorData: text(res.authenticatorData), signature: text(res.signature), userHandle: text(res.userHandle) },
      };
    },
    { options, override },
  );
}

/** Step-up options for `id` as `r` (its session), straight from the console route. */
async function stepUpOptions(r: Reviewer, id: string, digest: string): Promise<Record<string, any>> {
  const res = await postForm(origin, r.user, `/requests/${id}/step-up/options`, { _csrf: r.user.csrf, digest });
  expect(res.status).toBe(200);
  return ((await res.json()) as { options: Record<string, any> }).options;
}

function postAssertion(r: Reviewer, id: string, digest: string, assertion: unknown): Promise<Response> {
  return postForm(origin, r.user, `/requests/${id}/step-up`, { _csrf: r.user.csrf, digest, comment: '', credential: JSON.stringify(assertion) });
}

/** In `r`'s browser: a registration by its authenticator sent with no confirmation (a new credential stands for a thief's). */
async function registerUnconfirmed(r: Reviewer): Promise<{ confirmAsked: boolean; status: number; body: { error: { code: string; message: string } } }> {
  return r.page.evaluate(async (csrf) => {
    const post = (url: string, fields: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const o = (await (await post('/account/passkeys/options', { _csrf: csrf })).json()) as { registration: any; confirm: unknown };
    const buf = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const text = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const reg = o.registration;
    // The authenticator's own passkey is excluded by nobody: a second, different one stands for the thief's.
    const cred = await (globalThis as any).navigator.credentials.create({ publicKey: { ...reg, challenge: buf(reg.challenge), user: { ...reg.user, id: buf(reg.user.id) }, excludeCredentials: [] } });
    const res = cred.response;
    const credential = { id: cred.id, rawId: text(cred.rawId), type: cred.type, clientExtensionResults: {}, response: { clientDataJSON: text(res.clientDataJSON), attestationObject: text(res.attestationObject), transports: [] } };
    const sent = await post('/account/passkeys', { _csrf: csrf, label: 'thief', credential: JSON.stringify(credential) });
    return { confirmAsked: o.confirm !== null, status: sent.status, body: (await sent.json()) as { error: { code: string; message: string } } };
  }, r.user.csrf);
}

const removedEvents = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type === 'passkey.removed');

async function refusedWith(res: Response, pattern: RegExp): Promise<void> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('STEP_UP_REQUIRED');
  expect(body.error.message).toMatch(pattern);
}

describe('step-up with a passkey', () => {
  it('registers a passkey in Chromium and approves a step-up request with it: approved, run once, the audit names the passkey', async () => {
    const alice = await reviewer('alice');
    await registerPasskey(alice, 'alice laptop');
    await expect(alice.page.locator('table tbody tr').count()).resolves.toBe(1);
    const registered = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'passkey.registered');
    expect(registered).toHaveLength(1);
    expect(registered[0]!.data).toMatchObject({ human: 'alice', label: 'alice laptop', confirmedWith: 'recent sign-in' });
    expect(JSON.stringify(registered[0]!.data)).not.toMatch(/publicKey/i);

    const { id } = await hold();
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.stepUp).toBe('webauthn');
    await alice.page.goto(`${origin}/requests/${id}`);
    await expect(alice.page.locator('#step-up').textContent()).resolves.toContain('Approving needs your passkey');
    await alice.page.getByRole('button', { name: /^Approve/ }).click();
    await alice.page.waitForURL(`${origin}/requests/${id}?done=approve`);
    expect(await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
    expect(upstream.calls.filter((c) => c.url === '/risky/restart')).toHaveLength(1);
    const recorded = (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'review.recorded');
    expect(recorded?.data['stepUp']).toEqual({ method: 'webauthn', credentialId: registered[0]!.data['credentialId'] });
  }, 90_000);

  it('refuses an approval by API key with STEP_UP_REQUIRED naming the console page; the request stays pending; deny needs none', async () => {
    const { id } = await hold();
    const res = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'lgtm' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('STEP_UP_REQUIRED');
    expect(res.body.error.message).toContain(`/requests/${id}`);
    expect(await status(id)).toBe('pending');
    const refused = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.refused');
    expect(refused.map((e) => e.data['code'])).toEqual(['STEP_UP_REQUIRED']);
    // The console's plain form (no script) is refused the same way.
    const form = await signIn(gw.url, gw.keys['bob']!);
    const plain = await postForm(gw.url, form, `/requests/${id}/review`, { _csrf: form.csrf, verdict: 'approve', comment: '' });
    expect(plain.status).toBe(403);
    expect(await plain.text()).toContain('STEP_UP_REQUIRED');
    expect(await status(id)).toBe('pending');
    const denied = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny', comment: 'no' } });
    expect(denied.status).toBe(200);
    expect(await status(id)).toBe('denied');
  });

  it('a Slack click on a step-up request does not decide it: the reply links to the console page', async () => {
    const { id } = await hold();
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('passkey'));
    expect((await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id })).status).toBe(200);
    const reply = await eventually(async () => slack.responses.find((r) => String(r['text'] ?? '').includes(`/requests/${id}`)), 15_000);
    expect(reply['response_type']).toBe('ephemeral');
    expect(reply['text']).toMatch(/passkey/);
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'review.recorded')).toEqual([]);
    expect(events.filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['via']])).toEqual([['STEP_UP_REQUIRED', 'slack']]);
  });

  it('refuses a replayed assertion and one moved to another request', async () => {
    const alice = reviewers['alice']!;
    const a = await hold();
    const b = await hold();
    const assertion = await assertWith(alice, await stepUpOptions(alice, a.id, a.digest));
    // Moved to B (with B's digest): bound to A, refused, and used up with it.
    await refusedWith(await postAssertion(alice, b.id, b.digest, assertion), /another request/);
    await refusedWith(await postAssertion(alice, a.id, a.digest, assertion), /already used/);
    // A fresh one for A counts once; the same answer again does not.
    const fresh = await assertWith(alice, await stepUpOptions(alice, a.id, a.digest));
    expect((await postAssertion(alice, a.id, a.digest, fresh)).status).toBe(200);
    await refusedWith(await postAssertion(alice, a.id, a.digest, fresh), /already used/);
    expect(await status(b.id)).toBe('pending');
  }, 60_000);

  it("refuses Bob's passkey under Alice's session, and an authenticator that did not verify its user", async () => {
    const alice = reviewers['alice']!;
    const bob = await reviewer('bob');
    await registerPasskey(bob, 'bob key');
    const { id, digest } = await hold();
    // Alice's challenge, answered by Bob's authenticator with his own passkey.
    const stolen = await assertWith(bob, await stepUpOptions(alice, id, digest), { anyCredential: true });
    await refusedWith(await postAssertion(alice, id, digest, stolen), /not one of yours/);
    // Alice's authenticator, asked by a modified client not to verify her (and unable to): refused by the server.
    await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: false });
    const unverified = await assertWith(alice, await stepUpOptions(alice, id, digest), { userVerification: 'discouraged' });
    await refusedWith(await postAssertion(alice, id, digest, unverified), /did not verify.*user could not be verified/i);
    await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: true });
    expect(await status(id)).toBe('pending');
    expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.recorded')).toEqual([]);
  }, 60_000);

  it('needs each reviewer of a quorum to step up, when any rule holding the request asks for it', async () => {
    const [alice, bob] = [reviewers['alice']!, reviewers['bob']!];
    const { id, digest } = await hold('/two/payout');
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.stepUp).toBe('webauthn');
    expect((await postAssertion(alice, id, digest, await assertWith(alice, await stepUpOptions(alice, id, digest)))).status).toBe(200);
    expect(await status(id)).toBe('pending');
    const byKey = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '' } });
    expect(byKey.body.error.code).toBe('STEP_UP_REQUIRED');
    expect(await status(id)).toBe('pending');
    expect((await postAssertion(bob, id, digest, await assertWith(bob, await stepUpOptions(bob, id, digest)))).status).toBe(200);
    expect(await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
    const recorded = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.recorded');
    expect(recorded.map((e) => [e.actor, e.data['stepUp']?.method])).toEqual([['alice', 'webauthn'], ['bob', 'webauthn']]);
  }, 60_000);

  it('gives a grant with a passkey-confirmed approval in the console; an offer by API key is refused and counts nothing', async () => {
    const alice = reviewers['alice']!;
    const submit = (n: number) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/granted/payout', body: { n } }, reason: 'needed' } });
    const first = await submit(1);
    expect(first.status).toBe(202);
    const id = first.body.id as string;
    const byKey = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '', grant: { uses: 2, for: '30m' } } });
    expect(byKey.body.error.code).toBe('STEP_UP_REQUIRED');
    expect((await gw.as('alice', `/v1/grants?request=${id}`)).body.grants).toEqual([]);
    await alice.page.goto(`${origin}/requests/${id}`);
    await alice.page.getByLabel(/How many more/).fill('1');
    await alice.page.getByLabel(/For how many minutes/).fill('10');
    await alice.page.getByRole('button', { name: /^Approve/ }).click();
    await alice.page.waitForURL(`${origin}/requests/${id}?done=approve`);
    const granted = (await gw.as('alice', `/v1/requests/${id}`)).body;
    expect(granted.grant).toMatchObject({ uses: 1 });
    expect((await storedAudit(gw.deps.store, id)).find((e) => e.type === 'review.recorded')?.data).toMatchObject({ stepUp: { method: 'webauthn' }, grantOffered: { uses: 1, seconds: 600 } });
    // Its use needs no passkey: the grant was given with one.
    const next = await submit(2);
    expect(next.status).toBe(200);
    expect(next.body.grantedBy).toMatchObject({ grantId: granted.grant.id, use: 1, of: 1 });
    expect((await submit(3)).status).toBe(202);
  }, 60_000);

  it('counts no approval without a passkey once the rules require one: at run, and after the request went back to pending', async () => {
    const bob = reviewers['bob']!;
    // Approved by key under a policy whose rule did not yet say stepUp (copied as the store would have kept it).
    const risky = (await gw.deps.store.getRequest((await hold('/risky/late')).id))!;
    const { stepUp: _s, ...before } = risky.decision;
    const byKey = (r: typeof risky) => [{ requestId: r.id, reviewer: { id: 'alice', kind: 'human' as const, groups: ['sre'], email: null, identity: null }, verdict: 'approve' as const, comment: '', digest: r.digest, createdAt: r.createdAt }];
    const approved = { ...risky, id: `${risky.id}_old`, status: 'approved' as const, decision: before, reviews: byKey(risky), version: 1 };
    await gw.deps.store.insertRequest(approved, []);
    const requeued = await executeApproved(gw.deps, approved.id);
    expect([requeued.status, requeued.decision.stepUp]).toEqual(['pending', 'webauthn']);
    expect(upstream.calls.filter((c) => c.url === '/risky/late')).toHaveLength(0);
    // Pending again: alice's approval by key does not make bob's passkey approval the quorum's second of two.
    const two = (await gw.deps.store.getRequest((await hold('/two/late')).id))!;
    const pending = { ...two, id: `${two.id}_old`, reviews: byKey(two), version: 1 };
    await gw.deps.store.insertRequest(pending, []);
    expect((await postAssertion(bob, pending.id, pending.digest, await assertWith(bob, await stepUpOptions(bob, pending.id, pending.digest)))).status).toBe(200);
    expect(await status(pending.id)).toBe('pending');
  }, 60_000);

  it('refuses removing a passkey without a confirmation by one: 403 STEP_UP_REQUIRED, still listed, nothing audited; another human’s is not found', async () => {
    const bob = reviewers['bob']!;
    const [bobs] = await gw.deps.store.passkeysOf('bob');
    const [alices] = await gw.deps.store.passkeysOf('alice');
    const plain = await postForm(origin, bob.user, `/account/passkeys/${encodeURIComponent(bobs!.id)}/remove`, { _csrf: bob.user.csrf });
    expect(plain.status).toBe(403);
    expect(await plain.text()).toContain('STEP_UP_REQUIRED');
    const foreign = await postForm(origin, bob.user, `/account/passkeys/${encodeURIComponent(alices!.id)}/remove`, { _csrf: bob.user.csrf });
    expect(foreign.status).toBe(404);
    // Options for removing someone else's passkey are not issued either.
    expect((await postForm(origin, bob.user, `/account/passkeys/${encodeURIComponent(alices!.id)}/remove/options`, { _csrf: bob.user.csrf })).status).toBe(404);
    expect((await gw.deps.store.passkeysOf('bob')).map((p) => p.id)).toEqual([bobs!.id]);
    expect(await gw.deps.store.passkeysOf('alice')).toHaveLength(1);
    expect(await removedEvents()).toEqual([]);
  });

  it('stops a thief with a fresh API-key sign-in as a human who holds a passkey: removing it and enrolling their own are both refused', async () => {
    const alice = reviewers['alice']!;
    const [alices] = await gw.deps.store.passkeysOf('alice');
    // The thief's own browser and authenticator, signed in just now with alice's API key.
    const thief = await reviewer('alice');
    reviewers['alice'] = alice;
    const removal = await thief.page.evaluate(
      async ({ csrf, id }) => {
        const res = await fetch(`/account/passkeys/${encodeURIComponent(id)}/remove`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }).toString() });
        return { status: res.status, text: await res.text() };
      },
      { csrf: thief.user.csrf, id: alices!.id },
    );
    expect(removal.status).toBe(403);
    expect(removal.text).toContain('STEP_UP_REQUIRED');
    const enrol = await registerUnconfirmed(thief);
    expect(enrol.confirmAsked).toBe(true);
    expect([enrol.status, enrol.body.error.code]).toEqual([403, 'STEP_UP_REQUIRED']);
    expect((await gw.deps.store.passkeysOf('alice')).map((p) => p.id)).toEqual([alices!.id]);
    expect(await removedEvents()).toEqual([]);
    await thief.page.context().close();
  }, 60_000);

  it('refuses a confirmation meant for something else: an answer to an approval’s challenge does not remove a passkey', async () => {
    const bob = reviewers['bob']!;
    const [bobs] = await gw.deps.store.passkeysOf('bob');
    const { id, digest } = await hold();
    const forApproval = await assertWith(bob, await stepUpOptions(bob, id, digest));
    const moved = await postForm(origin, bob.user, `/account/passkeys/${encodeURIComponent(bobs!.id)}/remove`, { _csrf: bob.user.csrf, confirmation: JSON.stringify(forApproval) });
    await refusedWith(moved, /another purpose \(approve\)/);
    expect(await gw.deps.store.passkeysOf('bob')).toHaveLength(1);
    expect(await status(id)).toBe('pending');
  }, 60_000);

  it('removes one’s own passkey with a confirmation by it in the console (Remove button), audited with who and how', async () => {
    const bob = reviewers['bob']!;
    const [bobs] = await gw.deps.store.passkeysOf('bob');
    await bob.page.goto(`${origin}/account/passkeys`);
    await bob.page.getByRole('button', { name: /^Remove passkey/ }).click();
    await bob.page.waitForURL(`${origin}/account/passkeys?done=removed`);
    expect(await gw.deps.store.passkeysOf('bob')).toEqual([]);
    expect((await removedEvents()).map((e) => [e.actor, e.data])).toEqual([['bob', expect.objectContaining({ human: 'bob', credentialId: bobs!.id, by: 'bob', reason: 'own', confirmedWith: bobs!.id })]]);
  }, 60_000);

  it('refuses a second passkey without a confirmation by the first', async () => {
    const answer = await registerUnconfirmed(reviewers['alice']!);
    expect(answer.confirmAsked).toBe(true);
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: 'STEP_UP_REQUIRED' });
    expect(answer.body.error.message).toMatch(/confirm with it/);
    expect(await gw.deps.store.passkeysOf('alice')).toHaveLength(1);
  }, 60_000);

  it('never lets an agent step up: no console session, and its approvals are refused as an agent’s', async () => {
    const { id } = await hold();
    const login = await postLogin(gw.url, gw.keys['other-bot']!);
    expect(login.status).not.toBe(303);
    const res = await gw.as('other-bot', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '' } });
    expect(res.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    expect(await status(id)).toBe('pending');
  });

  it('counts no step-up evidence that the verification did not make, and lets no agent confirm', async () => {
    const { id, digest } = await hold();
    const forged = { method: 'webauthn' as const, purpose: 'approve' as const, credentialId: 'forged', human: 'alice', requestId: id, digest };
    await expect(review(gw.deps, { reviewer: human('alice', ['sre']), requestId: id, verdict: 'approve', comment: '', digest, stepUp: forged })).rejects.toMatchObject({ code: 'STEP_UP_REQUIRED' });
    await expect(approveWithPasskey(gw.deps, { reviewer: agent('other-bot', null), requestId: id, digest, comment: '', response: {} })).rejects.toMatchObject({ code: 'AGENT_CANNOT_REVIEW' });
    await expect(stepUpOptionsOf(gw.deps, agent('other-bot', null), id, digest)).rejects.toMatchObject({ code: 'AGENT_CANNOT_REVIEW' });
    expect(await status(id)).toBe('pending');
  });

  it('refuses break-glass on a step-up request without a passkey (REST, CLI, plain form): 403 STEP_UP_REQUIRED naming the console page, audited, nothing runs', async () => {
    const { id } = await hold('/glass/restart');
    const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification: 'checkout is down, INC-4211' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('STEP_UP_REQUIRED');
    expect(res.body.error.message).toContain(`/requests/${id}`);
    const cli = await runCli({ url: gw.url, key: gw.keys['erin']!, credentials: '/nonexistent/countersign-credentials.json' }).command(['requests', 'break-glass', id, '-m', 'checkout is down, INC-4211']).done;
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('STEP_UP_REQUIRED');
    expect(cli.stderr).toContain(`/requests/${id}`);
    // The console's plain form (no script) is refused the same way.
    const form = await signIn(gw.url, gw.keys['erin']!);
    const plain = await postForm(gw.url, form, `/requests/${id}/break-glass`, { _csrf: form.csrf, justification: 'checkout is down, INC-4211' });
    expect(plain.status).toBe(403);
    expect(await plain.text()).toContain('STEP_UP_REQUIRED');
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'break_glass.refused').map((e) => [e.actor, e.data['code'], e.data['via'] ?? null])).toEqual([
      ['erin', 'STEP_UP_REQUIRED', null],
      ['erin', 'STEP_UP_REQUIRED', null],
      ['erin', 'STEP_UP_REQUIRED', 'console'],
    ]);
    expect(events.filter((e) => e.type === 'request.break_glass' || e.type === 'request.executing')).toEqual([]);
    // Evidence that a passkey confirmed an approval is not evidence for breaking the glass.
    const { digest } = (await gw.as('erin', `/v1/requests/${id}`)).body as { digest: string };
    const forApproval = mintStepUp({ method: 'webauthn', purpose: 'approve', credentialId: 'c', human: 'erin', requestId: id, digest });
    await expect(breakGlass(gw.deps, { by: human('erin', ['sre', 'oncall']), requestId: id, justification: 'INC-4211', stepUp: forApproval })).rejects.toMatchObject({ code: 'STEP_UP_REQUIRED' });
    expect(await status(id)).toBe('pending');
    expect(upstream.calls.filter((c) => c.url.startsWith('/glass/restart'))).toEqual([]);
  }, 60_000);

  it('breaks the glass on a step-up request in the console with a passkey: runs once, the audit names the passkey', async () => {
    const erin = await reviewer('erin');
    await registerPasskey(erin, 'erin phone');
    const [passkey] = await gw.deps.store.passkeysOf('erin');
    const { id } = await hold('/glass/failover');
    await erin.page.goto(`${origin}/requests/${id}`);
    await expect(erin.page.locator('#break-glass-step-up').textContent()).resolves.toContain('Breaking the glass needs your passkey');
    await erin.page.getByLabel(/Justification/).fill('primary is down, INC-5150');
    await erin.page.getByRole('button', { name: 'Break the glass and run it' }).click();
    await erin.page.waitForURL(`${origin}/requests/${id}?done=break-glass`);
    expect(await status(id)).toBe('succeeded');
    expect(upstream.calls.filter((c) => c.url === '/glass/failover')).toHaveLength(1);
    const events = await storedAudit(gw.deps.store, id);
    const broke = events.filter((e) => e.type === 'request.break_glass');
    expect(broke).toHaveLength(1);
    expect(broke[0]!.data).toMatchObject({ by: 'erin', justification: 'primary is down, INC-5150', via: 'console', stepUp: { method: 'webauthn', credentialId: passkey!.id } });
    expect(events.filter((e) => e.type === 'request.executing').map((e) => e.data['by'])).toEqual(['break-glass']);
    expect((await gw.as('erin', `/v1/requests/${id}`)).body.breakGlass.stepUp).toEqual({ method: 'webauthn', credentialId: passkey!.id });
  }, 90_000);

  it('does not break the glass with an answer to an approval’s challenge, nor approve with one to a break-glass challenge', async () => {
    const erin = reviewers['erin']!;
    const { id, digest } = await hold('/glass/purge');
    // Erin is an approver (sre) as well as on call: the approval challenge is hers, for this request and digest.
    const forApproval = await assertWith(erin, await stepUpOptions(erin, id, digest));
    const moved = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up`, { _csrf: erin.user.csrf, digest, justification: 'INC-6000', credential: JSON.stringify(forApproval) });
    await refusedWith(moved, /another purpose \(approve\)/);
    const options = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up/options`, { _csrf: erin.user.csrf, digest });
    expect(options.status).toBe(200);
    const forBreaking = await assertWith(erin, ((await options.json()) as { options: Record<string, any> }).options);
    // No justification: refused before the challenge is used (the next refusal is about its purpose, not its use).
    const bare = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up`, { _csrf: erin.user.csrf, digest, justification: ' ', credential: JSON.stringify(forBreaking) });
    expect([bare.status, ((await bare.json()) as { error: { code: string } }).error.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    await refusedWith(await postAssertion(erin, id, digest, forBreaking), /another purpose \(break-glass\)/);
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'request.break_glass' || e.type === 'review.recorded')).toEqual([]);
    expect(upstream.calls.filter((c) => c.url === '/glass/purge')).toEqual([]);
  }, 60_000);

  it('lets an administrator remove another human’s passkey without one (audited with by and reason admin); another human and an agent cannot', async () => {
    const [erins] = await gw.deps.store.passkeysOf('erin');
    const [alices] = await gw.deps.store.passkeysOf('alice');
    const before = (await removedEvents()).length;
    // A human without the admin role: neither the page nor the removal.
    const bob = reviewers['bob']!;
    expect((await getPage(origin, bob.user, '/account/passkeys?human=erin')).status).toBe(403);
    const byBob = await postForm(origin, bob.user, `/account/passkeys/${encodeURIComponent(erins!.id)}/remove`, { _csrf: bob.user.csrf, human: 'erin' });
    expect(byBob.status).toBe(403);
    expect(await byBob.text()).toContain('ROLE_REQUIRED');
    // An agent: no console, and the use case refuses it whatever it names.
    await expect(removePasskey(gw.deps, { by: agent('other-bot', null), human: 'erin', id: erins!.id })).rejects.toMatchObject({ code: 'AGENT_CANNOT_SIGN_IN' });
    await expect(removePasskey(gw.deps, { by: agent('deploy-bot', 'carol'), human: 'erin', id: erins!.id })).rejects.toMatchObject({ code: 'AGENT_CANNOT_SIGN_IN' });
    expect(await gw.deps.store.passkeysOf('erin')).toHaveLength(1);
    expect((await removedEvents()).length).toBe(before);
    // The administrator: sees erin's passkeys and removes one; a passkey of alice named as erin's is not found.
    const root = await signIn(origin, gw.keys['root']!);
    const listing = await getPage(origin, root, '/account/passkeys?human=erin');
    expect(listing.status).toBe(200);
    expect((await listing.text()).replaceAll('<wbr>', '')).toContain('Remove passkey erin phone of erin');
    const wrong = await postForm(origin, root, `/account/passkeys/${encodeURIComponent(alices!.id)}/remove`, { _csrf: root.csrf, human: 'erin' });
    expect(wrong.status).toBe(404);
    const done = await postForm(origin, root, `/account/passkeys/${encodeURIComponent(erins!.id)}/remove`, { _csrf: root.csrf, human: 'erin' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account/passkeys?human=erin&done=removed');
    expect(await gw.deps.store.passkeysOf('erin')).toEqual([]);
    expect(await gw.deps.store.passkeysOf('alice')).toHaveLength(1);
    const removed = (await removedEvents()).slice(before);
    expect(removed.map((e) => [e.actor, e.data])).toEqual([['root', { human: 'erin', credentialId: erins!.id, by: 'root', reason: 'admin' }]]);
  });

  it('under enrolment: sso, enrols a first passkey only from an identity-provider sign-in, never from an API key', async () => {
    const sso = { ...gw.deps, passkeyEnrolment: 'sso' as const };
    const fresh = clock.now().toISOString();
    const carol = human('carol', ['sre', 'dev']);
    await expect(passkeyRegistrationOptions(sso, { human: carol, sessionCreatedAt: fresh, sessionMethod: 'api-key' })).rejects.toMatchObject({ code: 'STEP_UP_REQUIRED', message: expect.stringMatching(/identity provider/) });
    const viaIdp = await passkeyRegistrationOptions(sso, { human: carol, sessionCreatedAt: fresh, sessionMethod: 'oidc' });
    expect(viaIdp.confirm).toBeNull();
    // The default accepts an API-key sign-in, as before.
    expect((await passkeyRegistrationOptions(gw.deps, { human: carol, sessionCreatedAt: fresh, sessionMethod: 'api-key' })).confirm).toBeNull();
    expect(await gw.deps.store.passkeysOf('carol')).toEqual([]);
  });

  // Last: it moves the gateway's clock.
  it('refuses a first passkey from a sign-in older than ten minutes', async () => {
    const carol = await signIn(gw.url, gw.keys['carol']!);
    clock.advance(11 * 60_000);
    const res = await postForm(gw.url, carol, '/account/passkeys/options', { _csrf: carol.csrf });
    await refusedWith(res, /sign-in of the last 10 minutes/);
    expect(await gw.deps.store.passkeysOf('carol')).toEqual([]);
  });
});
