/**
 * A passkey removed while a request it confirmed an approval of is still pending (an administrator removing one
 * enrolled by whoever held a human's session, or one reported lost) confirms nothing any more: that approval counts
 * for nothing toward a quorum that needs step-up, so it cannot make up, with the approval of the person who enrolled
 * it, a quorum of two. The approvals of passkeys still held count; erin completes the quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, signIn } from '../support/console.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { assertWith, postAssertion, registerPasskey, stepUpGateway, stepUpOptions, type Reviewer } from '../support/step-up.ts';
import type { Upstream } from '../support/upstream.ts';
import { executeApproved } from '../../src/service/execute.ts';

const steps = stepUpGateway();
const { hold, status, reviewer } = steps;
let gw: TestGateway;
let upstream: Upstream;
let origin: string;
/** The passkey of alice's that the administrator removed. */
let removedId: string;

beforeAll(async () => {
  ({ gw, upstream, origin } = await steps.start());
  for (const who of ['alice', 'bob', 'erin']) await registerPasskey(await reviewer(who), `${who} key`);
}, 90_000);

afterAll(() => steps.stop());

const approve = async (r: Reviewer, id: string, digest: string) => postAssertion(r, id, digest, await assertWith(r, await stepUpOptions(r, id, digest)));

describe('a passkey removed while a request it approved is pending', () => {
  it('its approval no longer counts toward the quorum: the next approval leaves the request pending, a third completes it', async () => {
    const { id, digest } = await hold('/two/removed');
    expect((await approve(steps.reviewers['alice']!, id, digest)).status).toBe(200);
    expect(await status(id)).toBe('pending');

    // An administrator removes the passkey alice approved with.
    const [alices] = await gw.deps.store.passkeysOf('alice');
    removedId = alices!.id;
    const root = await signIn(origin, gw.keys['root']!);
    const removed = await postForm(origin, root, `/account/passkeys/${encodeURIComponent(alices!.id)}/remove`, { _csrf: root.csrf, human: 'alice' });
    expect(removed.status).toBe(303);

    expect((await approve(steps.reviewers['bob']!, id, digest)).status).toBe(200);
    expect(await status(id)).toBe('pending');
    const recorded = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.recorded');
    expect(recorded.map((e) => [e.actor, e.data['remaining']])).toEqual([
      ['alice', [{ rule: 'risky-two', groups: ['sre'], principals: [], needed: 1 }, { rule: 'two-step-up', groups: ['sre'], principals: [], needed: 0 }]],
      ['bob', [{ rule: 'risky-two', groups: ['sre'], principals: [], needed: 1 }, { rule: 'two-step-up', groups: ['sre'], principals: [], needed: 0 }]],
    ]);
    expect(upstream.calls.filter((c) => c.url === '/two/removed')).toHaveLength(0);

    expect((await approve(steps.reviewers['erin']!, id, digest)).status).toBe(200);
    expect(await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
    const approved = (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.approved');
    expect(approved?.data['approvers']).toEqual(['bob', 'erin']);
  }, 90_000);

  it('an approval it confirmed of a request approved but not yet run counts for nothing at run: requeued, nothing runs', async () => {
    const held = (await gw.deps.store.getRequest((await hold('/risky/approved')).id))!;
    const review = { requestId: held.id, reviewer: { id: 'alice', kind: 'human' as const, groups: ['sre'], email: 'alice@example.com', identity: null }, verdict: 'approve' as const, comment: '', digest: held.digest, createdAt: held.createdAt, stepUp: { method: 'webauthn' as const, credentialId: removedId } };
    // As the store keeps one approved with that passkey before it was removed.
    const approved = { ...held, id: `${held.id}_approved`, status: 'approved' as const, reviews: [review], version: 1 };
    await gw.deps.store.insertRequest(approved, []);
    const ran = await executeApproved(gw.deps, approved.id);
    expect(ran.status).toBe('pending');
    expect(upstream.calls.filter((c) => c.url === '/risky/approved')).toHaveLength(0);
    const requeued = (await storedAudit(gw.deps.store, approved.id)).find((e) => e.type === 'request.requeued');
    expect(requeued?.data['remaining']).toEqual([{ rule: 'risky', groups: ['sre'], principals: [], needed: 1 }]);
  });

  it('a scoped grant its approval gave approves nothing once it is removed', async () => {
    const bob = steps.reviewers['bob']!;
    const submit = (n: number) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/granted/payout', body: { n } }, reason: 'needed' } });
    const first = await submit(1);
    expect(first.status).toBe(202);
    const { id, digest } = { id: first.body.id as string, digest: first.body.digest as string };
    const options = await stepUpOptions(bob, id, digest);
    const given = await postForm(bob.origin, bob.user, `/requests/${id}/step-up`, { _csrf: bob.user.csrf, digest, comment: '', grant_uses: '2', grant_minutes: '10', credential: JSON.stringify(await assertWith(bob, options)) });
    expect(given.status).toBe(200);
    expect(await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000)).toBe(true);
    expect((await submit(2)).status).toBe(200);

    const [bobs] = await gw.deps.store.passkeysOf('bob');
    const root = await signIn(origin, gw.keys['root']!);
    expect((await postForm(origin, root, `/account/passkeys/${encodeURIComponent(bobs!.id)}/remove`, { _csrf: root.csrf, human: 'bob' })).status).toBe(303);
    const after = await submit(3);
    expect([after.status, after.body.status, after.body.grantedBy]).toEqual([202, 'pending', undefined]);
    expect(upstream.calls.filter((c) => c.url === '/granted/payout' && JSON.parse(c.body).n === 3)).toHaveLength(0);
  }, 60_000);
});
