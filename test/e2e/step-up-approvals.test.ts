/**
 * Step-up for risky approvals, end to end: a rule with `stepUp: webauthn`
 * makes an approval count only with a passkey confirmation in the console.
 * Chromium with a virtual authenticator (DevTools protocol, WebAuthn domain;
 * test/support/step-up.ts) registers a passkey and approves; then the attacks:
 * an API key, the plain console form and a Slack click do not decide; a
 * replayed assertion, one moved to another request, another human's passkey
 * and an authenticator that did not verify its user are refused; each
 * reviewer of a quorum steps up, a grant is given only with one, and an
 * approval by key does not count once the rules ask for a passkey; agents
 * never get there. Breaking the glass: step-up-break-glass.test.ts; keeping
 * and removing passkeys: step-up-passkeys.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, postLogin, signIn } from '../support/console.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { clickAsReader } from '../support/browser.ts';
import { agent, human } from '../support/fixtures.ts';
import { assertWith, postAssertion, refusedWith, registerPasskey, stepUpGateway, stepUpOptions } from '../support/step-up.ts';
import type { Upstream } from '../support/upstream.ts';
import { review } from '../../src/service/review.ts';
import { approveWithPasskey, stepUpOptions as stepUpOptionsOf } from '../../src/service/step-up.ts';
import { executeApproved } from '../../src/service/execute.ts';

const steps = stepUpGateway();
const { reviewers, hold, status, reviewer } = steps;
let slack: FakeSlack;
let upstream: Upstream;
let gw: TestGateway;
let origin: string;

beforeAll(async () => {
  ({ slack, upstream, gw, origin } = await steps.start());
}, 60_000);

afterAll(() => steps.stop());

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
    await clickAsReader(alice.page, alice.page.getByRole('button', { name: /^Approve/ }));
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
    await clickAsReader(alice.page, alice.page.getByRole('button', { name: /^Approve/ }));
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
});
