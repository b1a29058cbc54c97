/**
 * Break-glass end to end: a human of a break-glass group runs a held request
 * at once with a justification — the upstream receives it exactly once, even
 * when two break-glasses race — and everyone else is refused with a stable
 * code: an agent, the human the agent acts for, a human outside the groups,
 * and anyone without a justification. The request stays flagged; its
 * after-the-fact review (never by the one who broke the glass) shows over
 * REST, and the evidence report lists the run as unreviewed until then.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const principals = [
  ...DEFAULT_PRINCIPALS,
  // carol (sre, dev) is the human deploy-bot acts for; she is in the break-glass group too.
  { id: 'erin', kind: 'human' as const, groups: ['oncall'] },
  { id: 'frank', kind: 'human' as const, groups: ['oncall'] },
  { id: 'gina', kind: 'human' as const, groups: [], roles: ['auditor' as const] },
].map((p) => (p.id === 'carol' ? { ...p, groups: ['sre', 'dev', 'oncall'] } : p));

let slack: FakeSlack;
let upstream: Upstream;
let gw: TestGateway;
let receiver: Upstream;

beforeAll(async () => {
  slack = await startFakeSlack();
  upstream = await startUpstream(() => ({ status: 200, body: { restarted: true } }));
  receiver = await startUpstream(() => ({ status: 204 }));
  gw = await startTestGateway(
    `channels:
${slack.channelYaml()}
  webhooks:
    - { name: ops, url: "${receiver.url}/hooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
connections:
  - { name: ops, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: restarts
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      breakGlass: { groups: [oncall] }
`,
    { principals },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await receiver?.close();
  await slack?.close();
});

async function hold(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path }, reason: 'restart the stuck worker' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const breakGlass = (who: string, id: string, body: unknown) => gw.as(who, `/v1/requests/${id}/break-glass`, { body });

it('refuses agents, the requester side, outsiders and a missing justification, and runs nothing', async () => {
  const id = await hold('/restart/a');
  const agent = await breakGlass('deploy-bot', id, { justification: 'i am in a hurry' });
  expect([agent.status, agent.body.error.code]).toEqual([403, 'BREAK_GLASS_NOT_ALLOWED']);
  // carol is in the break-glass group, but deploy-bot acts for her: her own agent's request.
  const self = await breakGlass('carol', id, { justification: 'my own' });
  expect([self.status, self.body.error.code]).toEqual([403, 'BREAK_GLASS_NOT_ALLOWED']);
  // alice may approve it but is no break-glass member.
  const outsider = await breakGlass('alice', id, { justification: 'faster' });
  expect([outsider.status, outsider.body.error.code]).toEqual([403, 'BREAK_GLASS_NOT_ALLOWED']);
  for (const body of [{}, { justification: '   ' }]) {
    const bare = await breakGlass('erin', id, body);
    expect([bare.status, bare.body.error.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
  }
  const still = await gw.as('erin', `/v1/requests/${id}`);
  expect([still.body.status, still.body.breakGlass]).toEqual(['pending', null]);
  // The refusals are evidence too.
  const audit = await gw.as('gina', `/v1/audit/events?request=${id}&type=break_glass.refused`);
  expect((audit.body.events as { actor: string; data: { code: string } }[]).map((e) => [e.actor, e.data.code])).toEqual([
    ['deploy-bot', 'BREAK_GLASS_NOT_ALLOWED'],
    ['carol', 'BREAK_GLASS_NOT_ALLOWED'],
    ['alice', 'BREAK_GLASS_NOT_ALLOWED'],
  ]);
  expect(upstream.calls.filter((c) => c.url === '/restart/a')).toHaveLength(0);
});

it('runs at once for a member, exactly once under a race, alerts Slack, and waits for an after-the-fact review', async () => {
  const id = await hold('/restart/b');
  await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks']).includes(id) && c.body['thread_ts'] === undefined);
  const [one, two] = await Promise.all([
    breakGlass('erin', id, { justification: 'checkout is down, INC-4211' }),
    breakGlass('frank', id, { justification: 'same incident' }),
  ]);
  const statuses = [one.status, two.status].sort();
  expect(statuses).toEqual([200, 409]);
  const winner = one.status === 200 ? one : two;
  expect(winner.body.status).toBe('succeeded');
  expect(winner.body.result).toMatchObject({ status: 200 });
  expect(upstream.calls.filter((c) => c.url === '/restart/b')).toHaveLength(1);
  const by = winner === one ? 'erin' : 'frank';
  const other = by === 'erin' ? 'frank' : 'erin';
  expect(winner.body.breakGlass).toMatchObject({ by, review: null });

  // Every channel hears of it: Slack in the request's thread, with the justification.
  const alert = await slack.waitFor('chat.postMessage', (c) => typeof c.body['thread_ts'] === 'string' && String(c.body['text']).includes('Break-glass'), 10_000);
  expect(JSON.stringify(alert.body['blocks'])).toContain('Justification:');
  // And signed webhooks, by default.
  const hook = await eventually(async () => receiver.calls.map((c) => JSON.parse(c.body) as { type: string; data: Record<string, unknown> }).find((b) => b.type === 'request.break_glass' && b.data['requestId'] === id));
  expect(hook.data).toMatchObject({ event: 'request.break_glass', actor: by, data: { by, justification: expect.any(String) } });

  const report = async () => (await gw.as('gina', `/v1/evidence/report?from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}&framework=soc2`)).body;
  const unreviewed = await report();
  expect(unreviewed.breakGlass).toEqual([expect.objectContaining({ id, by, outcome: 'succeeded', review: null })]);
  expect(unreviewed.summary.breakGlassUnreviewed).toBe(1);
  const page = await fetch(`${gw.url}/v1/evidence/report?from=${encodeURIComponent(unreviewed.period.from)}&to=${encodeURIComponent(unreviewed.period.to)}&framework=soc2&format=html`, { headers: { authorization: `Bearer ${gw.keys['gina']}` } });
  const html = await page.text();
  expect(html).toContain('1 break-glass run(s) without an after-the-fact review');
  expect(html).toMatch(new RegExp(`<tr><td><code>${id}</code></td>[^\\n]*?<strong>not reviewed yet</strong></td></tr>`));

  // Not the one who broke the glass, not the requester side.
  const selfReview = await gw.as(by, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'fine by me' } });
  expect([selfReview.status, selfReview.body.error.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
  const carol = await gw.as('carol', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '' } });
  expect([carol.status, carol.body.error.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);

  const reviewed = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'warranted: the incident log agrees' } });
  expect(reviewed.status).toBe(200);
  expect(reviewed.body.breakGlass.review).toMatchObject({ by: 'alice', verdict: 'approve', comment: 'warranted: the incident log agrees' });
  const again = await gw.as(other, `/v1/requests/${id}/reviews`, { body: { verdict: 'deny', comment: 'late' } });
  expect([again.status, again.body.error.code]).toEqual([409, 'ALREADY_REVIEWED']);

  const after = await eventually(async () => {
    const r = await report();
    return r.summary.breakGlassUnreviewed === 0 ? r : undefined;
  });
  expect(after.breakGlass).toEqual([expect.objectContaining({ id, review: expect.objectContaining({ by: 'alice', verdict: 'approve' }) })]);
  const events = await gw.as('gina', `/v1/audit/events?request=${id}`);
  const types = (events.body.events as { type: string }[]).map((e) => e.type);
  expect(types).toEqual(expect.arrayContaining(['request.break_glass', 'request.executing', 'request.succeeded', 'review.after_the_fact']));
  expect(types).not.toContain('request.approved');
  expect(upstream.calls.filter((c) => c.url === '/restart/b')).toHaveLength(1);
});
