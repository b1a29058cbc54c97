/**
 * Slack end to end: a real gateway, a real upstream and a fake Slack that
 * speaks the Web API and signs its callbacks like Slack. Held request →
 * message with the right content → signed click → approved → executed →
 * message updated; an API approval updates the message too; the deny modal;
 * the requester's DM; and every forged or stale callback refused with 401
 * and an audit event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postEndless } from '../support/endless-body.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let slack: FakeSlack;
let upstream: Upstream;
let gw: TestGateway;

const EMAILS: Record<string, string> = { alice: 'alice@example.com', bob: 'bob@example.com', carol: 'carol@example.com', dave: 'dave@example.com' };

beforeAll(async () => {
  slack = await startFakeSlack();
  for (const [id, email] of Object.entries(EMAILS)) slack.users.set(`U${id.toUpperCase()}`, { id: `U${id.toUpperCase()}`, email });
  slack.users.set('UNOEMAIL', { id: 'UNOEMAIL' });
  slack.users.set('USTRANGER', { id: 'USTRANGER', email: 'stranger@example.com' });
  // bob's address, on an account of another organisation's workspace (Slack Connect), and on one whose email Slack never confirmed.
  slack.users.set('UGUEST', { id: 'UGUEST', email: 'bob@example.com', team_id: 'T0OTHERORG' });
  slack.users.set('UUNCONFIRMED', { id: 'UUNCONFIRMED', email: 'bob@example.com', is_email_confirmed: false });
  // A bot user (what an agent holding a bot token acts as) and a deactivated account, each with a configured human's email.
  slack.users.set('UBOT', { id: 'UBOT', email: 'bob@example.com', is_bot: true });
  slack.users.set('UDELETED', { id: 'UDELETED', email: 'bob@example.com', deleted: true });
  upstream = await startUpstream();
  gw = await startTestGateway(
    `channels:
${slack.channelYaml()}
  publicUrl: https://countersign.example.com
connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
policy:
  rules:
    - id: prod-writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: two-sre-payouts
      when: facts.http.path.startsWith("/payouts")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: refunds
      when: facts.http.path.startsWith("/refunds")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      notify: [{ slack: "#payments" }]
`,
    { principals: DEFAULT_PRINCIPALS.map((p) => (EMAILS[p.id] ? { ...p, email: EMAILS[p.id] } : p)) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await slack?.close();
  await upstream?.close();
});

async function hold(path = '/invoices', reason = 'APPROVED by security <!here> — just do it'): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'POST', path, body: { amount: 12 } }, reason } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const postedFor = (id: string) => slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && c.body['channel'] !== undefined && !String(c.body['channel']).startsWith('D'));
const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;

describe('a held request in Slack', () => {
  it('posts one message with everything needed to decide, agent text inert, buttons carrying only the id', async () => {
    const id = await hold();
    const post = await postedFor(id);
    expect(post.token).toBe(slack.botToken);
    expect(post.body['channel']).toBe('C0APPROVALS');
    const text = JSON.stringify(post.body['blocks']);
    expect(text).toContain('Requested by\\ndeploy-bot (agent) for carol');
    expect(text).toContain('billing-api (http)');
    expect(text).toContain('env: prod');
    expect(text).toContain('compliance: soc2, gdpr');
    expect(text).toContain('POST /invoices');
    expect(text).toContain('prod-writes');
    expect(text).toContain('1 from group sre');
    expect(text).toContain('*Expires*');
    expect(text).toContain(`https://countersign.example.com/requests/${id}`);
    // The claim is plain text (Slack neither formats nor notifies it); no mrkdwn text holds it.
    const blocks0 = post.body['blocks'] as any[];
    expect(blocks0.find((b) => b.text?.text?.startsWith('│ '))?.text).toEqual({ type: 'plain_text', text: '│ APPROVED by security <!here> — just do it', emoji: false });
    expect(JSON.stringify(blocks0.filter((b) => b.text?.type !== 'plain_text'))).not.toContain('!here');
    const actions = (post.body['blocks'] as any[]).find((b) => b.type === 'actions');
    expect(actions.elements.map((e: any) => [e.text.text, e.value])).toEqual([['Approve and run POST /invoices on billing-api', id], ['Deny', id]]);
    // The action leads: the header names it, the next block its risks; the agent's text is its unverified claim.
    const blocks = post.body['blocks'] as any[];
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Approval needed: POST /invoices on billing-api', emoji: false } });
    expect(blocks[1].text.text).toBe('*Risk: writes · prod · PII · irreversible*');
    expect(blocks[2].text).toEqual({ type: 'plain_text', text: 'POST /invoices on billing-api', emoji: false });
    expect(text).toContain("*Agent's claim (unverified)*");
    // billing-api is tagged prod and PII: Slack asks the reviewer to confirm before the click is sent.
    expect(actions.elements[0].confirm.text.text).toBe('I understand this runs POST /invoices on billing-api on production, on personal data (PII).');
  });

  it('approves on a signed click by a known human, runs once, updates the message without buttons', async () => {
    const id = await hold();
    const post = await postedFor(id);
    const res = await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id });
    expect(res.status).toBe(200);
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    // Only approved requests run: the first test's request is still pending, so exactly one call.
    expect(upstream.calls.filter((c) => c.url === '/invoices')).toHaveLength(1);
    const recorded = (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'review.recorded');
    expect(recorded?.data).toMatchObject({ via: 'slack', channelUser: 'UALICE', verdict: 'approve' });
    const ts = (await gw.deps.store.channelMessages(id, 'slack'))[0]?.ref['ts'];
    const update = await slack.waitFor('chat.update', (c) => c.body['channel'] === 'C0APPROVALS' && c.body['ts'] === ts && JSON.stringify(c.body['blocks']).includes('succeeded'));
    expect(post.body['channel']).toBe('C0APPROVALS');
    expect(JSON.stringify(update.body['blocks'])).toContain('Approved by *alice*');
    expect((update.body['blocks'] as any[]).some((b) => b.type === 'actions')).toBe(false);
    // The requester's human (deploy-bot acts for carol) gets a DM with the outcome.
    const dm = await slack.waitFor('chat.postMessage', (c) => c.body['channel'] === 'DUCAROL' && JSON.stringify(c.body).includes(id));
    expect(JSON.stringify(dm.body)).toContain('succeeded');
    expect(slack.callsOf('conversations.open').some((c) => c.body['users'] === 'UCAROL')).toBe(true);
  });

  it('counts a replayed click once', async () => {
    const id = await hold();
    await postedFor(id);
    // bob approves twice with the same signed body (a replay inside the window): one review.
    await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: id });
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined));
    await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: id });
    await new Promise((r) => setTimeout(r, 200));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'bob', verdict: 'approve' }]);
  });

  it('decides nothing on a click whose button names another request than the card clicked, or that comes from no card', async () => {
    const [shown, other] = [await hold('/invoices/shown'), await hold('/invoices/other')];
    await postedFor(shown);
    await postedFor(other);
    const message = slack.cardOf(shown)!;
    const told = slack.responses.length;
    // bob sees the card of one request; the click that reaches the gateway names the other.
    expect((await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: other, message })).status).toBe(200);
    expect((await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: other, message: { channel: 'C0ELSEWHERE', ts: '1.000001' } })).status).toBe(200);
    // Deny opens its reason modal only from the request's own card.
    const modals = slack.callsOf('views.open').length;
    expect((await slack.click(gw.url, { user: 'UBOB', action: 'deny', requestId: other, message })).status).toBe(200);
    const refused = await eventually(async () => {
      const r = (await storedAudit(gw.deps.store, other)).filter((e) => e.type === 'channel.refused');
      return r.length === 3 ? r : undefined;
    });
    expect(refused.map((e) => e.data)).toEqual(Array.from({ length: 3 }, () => ({ channel: 'slack', reason: 'card.elsewhere', slackUser: 'UBOB' })));
    await eventually(async () => (slack.responses.slice(told).filter((r) => JSON.stringify(r).includes('not on this message')).length === 3 ? true : undefined));
    expect(slack.callsOf('views.open')).toHaveLength(modals);
    expect(await storedReviewers(gw.deps.store, other)).toEqual([]);
    expect(await status(other)).toBe('pending');
    // The same human on the card itself: it counts.
    await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: other });
    await eventually(async () => ((await status(other)) === 'succeeded' ? true : undefined));
  });

  it('counts one person once across channels: an API-key approval and a Slack click by the same human are one of two', async () => {
    const id = await hold('/payouts/1');
    await postedFor(id);
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const told = slack.responses.length;
    await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id });
    // Slack is answered first; the click is judged after, and alice is told privately why it did not count.
    await eventually(async () => (slack.responses.slice(told).some((r) => JSON.stringify(r).includes('already reviewed')) ? true : undefined));
    expect(await status(id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(upstream.calls.filter((c) => c.url === '/payouts/1')).toHaveLength(0);
    // A second human completes it.
    await slack.click(gw.url, { user: 'UBOB', action: 'approve', requestId: id });
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined));
    expect(upstream.calls.filter((c) => c.url === '/payouts/1')).toHaveLength(1);
  });

  it('refuses the human the agent acts for, a user without an email and a stranger, recording why', async () => {
    const id = await hold();
    await postedFor(id);
    for (const user of ['UCAROL', 'UNOEMAIL', 'USTRANGER']) expect((await slack.click(gw.url, { user, action: 'approve', requestId: id })).status).toBe(200);
    const refused = await eventually(async () => {
      const r = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'channel.refused');
      return r.length === 3 ? r : undefined;
    });
    expect(refused.map((e) => e.data['reason']).sort()).toEqual(['review.self_approval_forbidden', 'user.no_email', 'user.unknown_email']);
    expect(await status(id)).toBe('pending');
    expect(slack.responses.some((r) => r['response_type'] === 'ephemeral')).toBe(true);
  });

  it('a configured human’s email counts only on a live, human account of the configured workspace whose email Slack confirmed', async () => {
    const id = await hold();
    await postedFor(id);
    const users = ['UBOT', 'UDELETED', 'UGUEST', 'UUNCONFIRMED'];
    for (const user of users) expect((await slack.click(gw.url, { user, action: 'approve', requestId: id })).status).toBe(200);
    const refused = await eventually(async () => {
      const r = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'channel.refused');
      return r.length === users.length ? r : undefined;
    });
    expect(refused.map((e) => [e.data['slackUser'], e.data['reason']]).sort()).toEqual(users.map((u) => [u, 'user.no_email']));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await status(id)).toBe('pending');
  });

  it('updates the Slack message when the request is approved through the API', async () => {
    const id = await hold();
    await postedFor(id);
    const res = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok from the console' } });
    expect(res.status).toBe(200);
    // The message's ts is recorded once Slack has answered the post, a moment after the fake saw it.
    const ts = await eventually(async () => (await gw.deps.store.channelMessages(id, 'slack'))[0]?.ref['ts']);
    const update = await slack.waitFor('chat.update', (c) => c.body['ts'] === ts && JSON.stringify(c.body['blocks']).includes('ok from the console'));
    expect((update.body['blocks'] as any[]).some((b) => b.type === 'actions')).toBe(false);
  });

  it('asks a denying reviewer why in a modal and records the deny with that reason', async () => {
    const id = await hold();
    await postedFor(id);
    expect((await slack.click(gw.url, { user: 'UDAVE', action: 'deny', requestId: id })).status).toBe(200);
    const open = await slack.waitFor('views.open', (c) => c.body['view']?.private_metadata === id);
    expect(open.body['trigger_id']).toBeTruthy();
    expect(open.body['view'].callback_id).toBe('countersign_deny_reason');
    // The modal's submission may come from anyone eligible; here alice (sre) denies.
    expect((await slack.submitDeny(gw.url, { user: 'UALICE', requestId: id, reason: 'not during the freeze <!channel>' })).status).toBe(200);
    await eventually(async () => ((await status(id)) === 'denied' ? true : undefined));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'deny' }]);
    expect((await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.denied')?.data['message']).toContain('not during the freeze');
    const update = await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks']).includes(id) && JSON.stringify(c.body['blocks']).includes('Denied by *alice*'));
    // The reason is plain text beside the gateway's line, where `<!channel>` is only characters, as on the error line.
    expect(JSON.stringify(update.body['blocks'])).toContain('{"type":"plain_text","text":"not during the freeze <!channel>","emoji":false}');
    expect(JSON.stringify(update.body['blocks'])).not.toMatch(/"type":"mrkdwn","text":"[^"]*!channel/);
    const dm = await slack.waitFor('chat.postMessage', (c) => c.body['channel'] === 'DUCAROL' && JSON.stringify(c.body).includes(id));
    expect(JSON.stringify(dm.body)).toContain('not during the freeze');
  });

  it('posts a request to the channel its rule names', async () => {
    const id = await hold('/refunds/9', 'refund');
    const post = await postedFor(id);
    expect(post.body['channel']).toBe('#payments');
  });
});

describe('messages at the limits', () => {
  const refusedFor = (id: string) => slack.refused.filter((x) => JSON.stringify(x.body).includes(id));

  it('posts and updates the card of a request with a 4,000-character & reason, a 100 KB body and a 4,000-character comment', async () => {
    const input = { method: 'POST', path: '/invoices/big', body: { note: '&<>`'.repeat(25_000) } };
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input, reason: '&'.repeat(4000) } });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const post = await postedFor(id);
    expect(refusedFor(id)).toEqual([]);
    expect(JSON.stringify(post.body['blocks'])).toMatch(new RegExp(`… _\\(truncated: at least [\\d,]+ more characters, <https://countersign.example.com/requests/${id}\\|see the console>\\)_`));
    const ts = await eventually(async () => (await gw.deps.store.channelMessages(id, 'slack'))[0]?.ref['ts']);
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '<&>'.repeat(1333) } })).status).toBe(200);
    const update = await slack.waitFor('chat.update', (c) => c.body['ts'] === ts && JSON.stringify(c.body['blocks']).includes('Approved by *bob*'));
    expect((update.body['blocks'] as any[]).some((b) => b.type === 'actions')).toBe(false);
    expect(refusedFor(id)).toEqual([]);
  });

  it('replaces a card Slack refuses to update with a minimal one that has no buttons', async () => {
    const id = await hold('/invoices/refused-update');
    await postedFor(id);
    const ts = await eventually(async () => (await gw.deps.store.channelMessages(id, 'slack'))[0]?.ref['ts']);
    slack.refuseNext('chat.update', 'invalid_blocks', { test: (b) => b['ts'] === ts });
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const minimal = await slack.waitFor('chat.update', (c) => c.body['ts'] === ts && JSON.stringify(c.body['blocks']).includes('open the request'));
    expect(refusedFor(id).map((x) => x.error)).toEqual(['invalid_blocks']);
    expect((minimal.body['blocks'] as any[]).some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(minimal.body['blocks'])).toContain(`<https://countersign.example.com/requests/${id}|open the request>`);
  });
});

describe('forged and stale callbacks', () => {
  const cases: [string, Parameters<FakeSlack['click']>[2], string][] = [
    ['a timestamp 6 minutes old', { skewSeconds: -360 }, 'timestamp.outside_window'],
    ['a timestamp 6 minutes in the future', { skewSeconds: 360 }, 'timestamp.outside_window'],
    ['one body byte changed', { tamper: (b) => b.replace('UALICE', 'UALICF') }, 'signature.mismatch'],
    ['a v1= prefix', { signature: (s) => s.replace(/^v0=/, 'v1=') }, 'signature.version'],
    ['no signature header', { signature: () => undefined }, 'signature.missing'],
    ['another signing secret', { secret: 'not-the-right-secret-at-all-000' }, 'signature.mismatch'],
  ];
  for (const [name, sign, reason] of cases) {
    it(`refuses ${name} with 401 and an audit event, and records no review`, async () => {
      const id = await hold();
      const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused').length;
      const res = await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id }, sign);
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.reason).toBe(reason);
      const refused = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused');
      expect(refused).toHaveLength(before + 1);
      expect(refused.at(-1)?.data).toMatchObject({ channel: 'slack', reason });
      expect(JSON.stringify(refused.at(-1))).not.toContain(slack.signingSecret);
      await new Promise((r) => setTimeout(r, 100));
      expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    });
  }

  it('refuses a click from another workspace with 401 and an audit event', async () => {
    const id = await hold();
    const res = await slack.send(gw.url, { type: 'block_actions', team: { id: 'T0OTHER' }, api_app_id: slack.appId, user: { id: 'UALICE' }, actions: [{ action_id: 'countersign_approve', value: id }] });
    expect(res.status).toBe(401);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused').at(-1)?.data).toMatchObject({ reason: 'team.mismatch' });
    const other = await slack.send(gw.url, { type: 'block_actions', team: { id: slack.teamId }, api_app_id: 'A0OTHER', user: { id: 'UALICE' }, actions: [{ action_id: 'countersign_approve', value: id }] });
    expect(other.status).toBe(401);
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused').at(-1)?.data).toMatchObject({ reason: 'app.mismatch' });
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
  });

  it('refuses a body that never ends once it passes 64 KB, without waiting for the rest', async () => {
    const answer = await postEndless(`${gw.url}/integrations/slack/interactions`, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.reason).toBe('body.too_large');
    expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused').at(-1)?.data).toMatchObject({ channel: 'slack', reason: 'body.too_large' });
  }, 10_000);

  it('records a flood of forged calls from anyone who reaches the URL at most 20 a second, counting the rest on a later event', async () => {
    const refusedEvents = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused' && e.data['channel'] === 'slack');
    const before = (await refusedEvents()).length;
    const forged = () => slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: 'req_flood' }, { secret: 'an-outsider-guess-000000000000' });
    const SENT = 120;
    const answers = await Promise.all(Array.from({ length: SENT }, forged));
    expect(answers.every((r) => r.status === 401)).toBe(true);
    // Every answer came after its refusal was recorded or counted: the log grew by far less than the flood.
    expect((await refusedEvents()).length - before).toBeLessThan(SENT);
    // A later refusal, once a new second has begun, carries the count of those not recorded one by one.
    let sent = SENT;
    const counted = await eventually(async () => {
      sent++;
      expect((await forged()).status).toBe(401);
      const added = (await refusedEvents()).slice(before);
      return added.some((e) => typeof e.data['suppressedBefore'] === 'number') && added.reduce((n, e) => n + 1 + Number(e.data['suppressedBefore'] ?? 0), 0) === sent ? added : undefined;
    }, 15_000);
    expect(counted.length).toBeLessThan(sent);
  });
});

describe('readiness', () => {
  it('shows the Slack channel and its backlog in /readyz', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).channels.slack).toMatchObject({ status: 'ok' });
  });
});
