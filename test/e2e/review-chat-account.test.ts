/**
 * One chat account is one person. Slack and Teams name who clicked by an
 * account id their signature vouches for, and the gateway finds the human by
 * the email the account has at that moment. An account whose email changes
 * between two clicks (Slack asks its owner to confirm the new address; an
 * Entra admin edits `mail`) would otherwise be one human at the first click
 * and another at the second: a quorum of two from one account. Each gateway
 * keeps an account's email for a few minutes, so on one process the change
 * shows only later; on two replicas of one store it shows at once. Real parts:
 * two gateways on one store, a fake Slack and a fake Bot Framework that sign
 * like the real ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, eventually, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { startReviewChannels, type ReviewChannels } from '../support/review-channels.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const AAD = { alice: 'aaaaaaaa-0000-0000-0000-00000000a11c', carol: 'aaaaaaaa-0000-0000-0000-0000000ca201' };

let channels: ReviewChannels;
let upstream: Upstream;
let shared: SharedGateway;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  channels = await startReviewChannels();
  upstream = await startUpstream();
  const body = `${channels.yaml}  - { name: pay-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: payouts
      when: facts.http.method == "POST" && facts.http.path.startsWith("/payouts")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      ttl: 1h
`;
  shared = prepareSharedGateway({ principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  a = await shared.start(body);
  b = await shared.start(body);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await shared?.remove();
  await Promise.all([channels?.close(), upstream?.close()]);
});

async function hold(path: string): Promise<string> {
  const res = await a.as('other-bot', '/v1/actions', { body: { connection: 'pay-api', input: { method: 'POST', path, body: {} }, reason: 'month-end payout' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

const ran = (path: string) => upstream.calls.filter((c) => c.url === path).length;
const succeeded = (id: string) => eventually(async () => ((await storedStatus(a.deps.store, id)) === 'succeeded' ? true : undefined), 15_000);
const reviewed = (id: string, n: number) => eventually(async () => ((await storedAudit(a.deps.store, id)).filter((e) => e.type === 'review.recorded').length >= n ? true : undefined), 15_000);

describe('a Slack account whose email changes between two clicks', () => {
  it('counts once: its second click, as another known human, is not a second approval', async () => {
    const { slack } = channels;
    slack.users.set('UALICE', { id: 'UALICE', email: 'alice@example.com' });
    slack.users.set('UCAROL', { id: 'UCAROL', email: 'carol@example.com' });
    const id = await hold('/payouts/slack');
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    expect((await slack.click(a.url, { user: 'UALICE', action: 'approve', requestId: id })).status).toBe(200);
    await reviewed(id, 1);
    // The account's owner confirms another known address at Slack; the next click reaches the other replica.
    slack.users.set('UALICE', { id: 'UALICE', email: 'bob@example.com' });
    const told = slack.responses.length;
    expect((await slack.click(b.url, { user: 'UALICE', action: 'approve', requestId: id })).status).toBe(200);
    await eventually(async () => (slack.responses.slice(told).some((r) => JSON.stringify(r).includes('already reviewed')) ? true : undefined), 15_000);
    expect(await storedReviewers(a.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(await storedStatus(a.deps.store, id)).toBe('pending');
    // Another person's account completes it, and it runs once.
    expect((await slack.click(b.url, { user: 'UCAROL', action: 'approve', requestId: id })).status).toBe(200);
    await succeeded(id);
    expect(await storedReviewers(a.deps.store, id)).toEqual([
      { reviewer: 'alice', verdict: 'approve' },
      { reviewer: 'carol', verdict: 'approve' },
    ]);
    expect(ran('/payouts/slack')).toBe(1);
  });

  it('counts once when it clicks on both replicas at the same moment, each knowing it by another email', async () => {
    const { slack } = channels;
    slack.users.set('UDAVE', { id: 'UDAVE', email: 'carol@example.com' });
    // Replica a learns the account as carol's (a click on a request of its own, which counts).
    const warm = await hold('/payouts/warm');
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(warm));
    await slack.click(a.url, { user: 'UDAVE', action: 'approve', requestId: warm });
    await reviewed(warm, 1);
    slack.users.set('UDAVE', { id: 'UDAVE', email: 'bob@example.com' });
    const id = await hold('/payouts/race');
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    const told = slack.responses.length;
    await Promise.all([slack.click(a.url, { user: 'UDAVE', action: 'approve', requestId: id }), slack.click(b.url, { user: 'UDAVE', action: 'approve', requestId: id })]);
    await reviewed(id, 1);
    await eventually(async () => (slack.responses.slice(told).some((r) => JSON.stringify(r).includes('already reviewed')) ? true : undefined), 15_000);
    expect(await storedReviewers(a.deps.store, id)).toHaveLength(1);
    expect(await storedStatus(a.deps.store, id)).toBe('pending');
    expect(ran('/payouts/race')).toBe(0);
  });
});

describe('a Teams account whose email changes between two clicks', () => {
  it('counts once: its second click, as another known human, is not a second approval', async () => {
    const { bf } = channels;
    bf.members.set(AAD.alice, { aadObjectId: AAD.alice, email: 'alice@example.com', name: 'alice' });
    bf.members.set(AAD.carol, { aadObjectId: AAD.carol, email: 'carol@example.com', name: 'carol' });
    const id = await hold('/payouts/teams');
    await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)), 15_000);
    const click = (gw: TestGateway, aadObjectId: string) => bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId }));
    expect((await click(a, AAD.alice)).status).toBe(200);
    await reviewed(id, 1);
    bf.members.set(AAD.alice, { aadObjectId: AAD.alice, email: 'bob@example.com', name: 'alice' });
    const second = await click(b, AAD.alice);
    expect(second.status).toBe(200);
    expect(JSON.stringify(second.body)).toContain('already reviewed');
    expect(await storedReviewers(a.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(await storedStatus(a.deps.store, id)).toBe('pending');
    expect((await click(b, AAD.carol)).status).toBe(200);
    await succeeded(id);
    expect(ran('/payouts/teams')).toBe(1);
  });
});
