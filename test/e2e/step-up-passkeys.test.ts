/**
 * Passkeys for step-up, kept and removed, end to end on the step-up gateway
 * (test/support/step-up.ts) with Chromium and virtual authenticators: alice,
 * bob and erin each register one first. A second passkey needs the first, a
 * first one a recent sign-in (under enrolment: sso, one from the identity
 * provider). Removing a passkey needs one too (a thief with a fresh API-key
 * sign-in can neither remove the victim's nor enrol their own, and an answer
 * to an approval's challenge removes nothing); an administrator removes
 * another human's without one, and nobody else does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, postForm, signIn } from '../support/console.ts';
import type { TestGateway } from '../support/gateway.ts';
import { agent, human } from '../support/fixtures.ts';
import { assertWith, refusedWith, registerPasskey, registerUnconfirmed, stepUpGateway, stepUpOptions } from '../support/step-up.ts';
import { passkeyRegistrationOptions, removePasskey } from '../../src/service/passkeys.ts';

const steps = stepUpGateway();
const { clock, reviewers, hold, status, reviewer, removedEvents } = steps;
let gw: TestGateway;
let origin: string;

beforeAll(async () => {
  ({ gw, origin } = await steps.start());
  // Each with a passkey, registered in the console as a person would.
  await registerPasskey(await reviewer('alice'), 'alice laptop');
  await registerPasskey(await reviewer('bob'), 'bob key');
  await registerPasskey(await reviewer('erin'), 'erin phone');
}, 90_000);

afterAll(() => steps.stop());

describe('step-up with a passkey', () => {
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
