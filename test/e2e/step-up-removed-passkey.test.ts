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

const steps = stepUpGateway();
const { hold, status, reviewer } = steps;
let gw: TestGateway;
let upstream: Upstream;
let origin: string;

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
});
