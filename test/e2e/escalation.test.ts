/**
 * Escalation end to end: two gateways on one store, each with its own frozen
 * clock. A rung fires once its delay has passed (never before: the time it
 * fired is at or after the time it was due), exactly once across both
 * gateways (one audit event per rung, however many sweeps ran), is posted to
 * Slack in the thread of the request's message, and its humans become
 * eligible reviewers from then on — a rung's member refused before, approves
 * after, and the action runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { manualClock } from '../support/clock.ts';
import { DEFAULT_PRINCIPALS, eventually, type TestGateway } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const principals = [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['oncall'] }, { id: 'mona', kind: 'human' as const, groups: ['managers'] }];

const body = (slack: FakeSlack, url: string) => `channels:
${slack.channelYaml()}
connections:
  - { name: billing, kind: http, url: "${url}" }
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 2h
      escalate:
        - { after: 15m, to: { groups: [oncall] } }
        - { after: 30m, to: { groups: [managers] } }
`;

let slack: FakeSlack;
let upstream: Upstream;
let shared: SharedGateway;
let a: TestGateway;
let b: TestGateway;
const start = Date.now();
const clockA = manualClock(start);
const clockB = manualClock(start);
const advance = (ms: number) => {
  clockA.advance(ms);
  clockB.advance(ms);
};

beforeAll(async () => {
  slack = await startFakeSlack();
  upstream = await startUpstream(() => ({ status: 200, body: { refunded: true } }));
  shared = prepareSharedGateway({ principals });
  a = await shared.start(body(slack, upstream.url), { clock: clockA });
  b = await shared.start(body(slack, upstream.url), { clock: clockB });
});

let aStopped = false;

afterAll(async () => {
  if (!aStopped) await a?.stop();
  await b?.stop();
  await upstream?.close();
  await slack?.close();
  await shared?.remove();
});

type Rung = { key: string; groups: string[]; dueAt: string; firedAt: string | null };
const ladder = async (gw: TestGateway, id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.escalation as Rung[];
const escalatedEvents = (id: string) => shared.read((s) => s.searchAudit({ requestId: id, types: ['request.escalated'] }));

it('fires each rung once after its delay, across two gateways, tells Slack, and lets the rung review', async () => {
  const submitted = await a.as('deploy-bot', '/v1/actions', { body: { connection: 'billing', input: { method: 'POST', path: '/refunds', body: { amount: 12 } }, reason: 'refund order 7' } });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id as string;
  await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks']).includes(id) && c.body['thread_ts'] === undefined);

  // The ladder is on the REST view from the start, nothing fired.
  const before = await ladder(b, id);
  expect(before.map((r) => [r.key, r.groups, r.firedAt])).toEqual([
    ['refunds#1', ['oncall'], null],
    ['refunds#2', ['managers'], null],
  ]);
  // Not yet escalated: erin (oncall) is no approver of it.
  const early = await b.as('erin', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'too early' } });
  expect(early.status).toBe(404); // she may not even see it yet
  expect(early.body.error.code).toBe('NOT_FOUND');

  advance(16 * 60_000);
  const first = await eventually(async () => {
    const l = await ladder(a, id);
    return l[0]?.firedAt ? l : undefined;
  }, 10_000);
  // Fired at or after it was due, by a sweep that ran at minute 16: the second rung (due at 30) stayed.
  expect(Date.parse(first[0]!.firedAt!)).toBeGreaterThanOrEqual(Date.parse(first[0]!.dueAt));
  expect(first[1]!.firedAt).toBeNull();
  const toOncall = await slack.waitFor('chat.postMessage', (c) => typeof c.body['thread_ts'] === 'string' && String(c.body['text']).includes('Escalated') && JSON.stringify(c.body).includes('group oncall'), 10_000);
  expect(toOncall.body['channel']).toBe('C0APPROVALS');
  // The card itself now shows the ladder.
  await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks']).includes('Escalation after 15m to group oncall: fired'), 10_000);

  // mona (managers, rung 2) is not eligible yet; erin now sees the request in her inbox of reviewable work.
  const monaEarly = await a.as('mona', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '' } });
  expect(monaEarly.status).toBe(404);
  const inbox = await a.as('erin', '/v1/requests?status=pending');
  expect((inbox.body.requests as { id: string }[]).map((r) => r.id)).toContain(id);

  // The first gateway stops; the second takes the sweep over and fires the next rung.
  await a.stop();
  aStopped = true;
  clockB.advance(15 * 60_000);
  await eventually(async () => ((await ladder(b, id))[1]?.firedAt ? true : undefined), 15_000);
  await slack.waitFor('chat.postMessage', (c) => typeof c.body['thread_ts'] === 'string' && JSON.stringify(c.body).includes('group managers'), 10_000);

  // Exactly one event per rung, though both gateways swept many times past each delay.
  const events = await escalatedEvents(id);
  expect(events.map((e) => e.data['rung'])).toEqual(['refunds#1', 'refunds#2']);
  const posts = slack.callsOf('chat.postMessage').filter((c) => typeof c.body['thread_ts'] === 'string' && String(c.body['text']).includes('Escalated'));
  expect(posts).toHaveLength(2);

  // A rung's human approves; one approval was needed and one is counted; the action runs once.
  const approved = await b.as('mona', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'escalated to me; fine' } });
  expect(approved.status).toBe(200);
  const done = await eventually(async () => {
    const r = await b.as('deploy-bot', `/v1/requests/${id}`);
    return r.body.status === 'succeeded' ? r.body : undefined;
  }, 10_000);
  expect(done.reviews).toEqual([expect.objectContaining({ reviewer: 'mona', verdict: 'approve' })]);
  expect(upstream.calls.filter((c) => c.url === '/refunds')).toHaveLength(1);
}, 90_000);
