/**
 * Microsoft Teams end to end: a real gateway, a real upstream and a fake Bot
 * Framework that serves its OpenID metadata and keys, issues the bot's
 * token, records what the Bot Connector is asked, answers member look-ups
 * and signs activities like Teams. Held request → card with the right
 * content → signed Approve → approved → executed → card replaced; an API
 * approval replaces the card too; deny with a reason; self-approval refused
 * in the card; one person through Slack and Teams counts once; and every
 * forged token refused with 401 and an audit event.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postEndless } from '../support/endless-body.ts';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let bf: FakeBotFramework;
let slack: FakeSlack;
let upstream: Upstream;
let gw: TestGateway;
let endpoint: string;

const EMAILS: Record<string, string> = { alice: 'alice@example.com', bob: 'bob@example.com', carol: 'carol@example.com', dave: 'dave@example.com' };
const AAD: Record<string, string> = { alice: 'aaaaaaaa-0000-0000-0000-000000000001', bob: 'aaaaaaaa-0000-0000-0000-000000000002', carol: 'aaaaaaaa-0000-0000-0000-000000000003', stranger: 'aaaaaaaa-0000-0000-0000-000000000009' };

const GUEST = 'aaaaaaaa-0000-0000-0000-000000000007';
const OTHER_TENANT = 'aaaaaaaa-0000-0000-0000-000000000008';
const NO_ROLE = 'aaaaaaaa-0000-0000-0000-000000000006';
const NO_TENANT = 'aaaaaaaa-0000-0000-0000-000000000005';

beforeAll(async () => {
  bf = await startFakeBotFramework();
  for (const id of ['alice', 'bob', 'carol']) bf.members.set(AAD[id]!, { aadObjectId: AAD[id]!, email: EMAILS[id]!, name: id });
  bf.members.set(AAD['stranger']!, { aadObjectId: AAD['stranger']!, email: 'stranger@example.com' });
  // bob's address on a B2B guest account, and on a member record of another tenant.
  bf.members.set(GUEST, { aadObjectId: GUEST, email: 'bob@example.com', userRole: 'guest' });
  bf.members.set(OTHER_TENANT, { aadObjectId: OTHER_TENANT, email: 'bob@example.com', tenantId: '11111111-2222-3333-4444-555555555555' });
  // And on records that do not say whether the account is a member, or of which tenant.
  bf.members.set(NO_ROLE, { aadObjectId: NO_ROLE, email: 'bob@example.com', userRole: null });
  bf.members.set(NO_TENANT, { aadObjectId: NO_TENANT, email: 'bob@example.com', tenantId: null });
  slack = await startFakeSlack();
  for (const [id, email] of Object.entries(EMAILS)) slack.users.set(`U${id.toUpperCase()}`, { id: `U${id.toUpperCase()}`, email });
  upstream = await startUpstream();
  gw = await startTestGateway(
    `channels:
${bf.channelYaml(`conversations: { payouts: { serviceUrl: "${bf.serviceUrl}", id: "19:payouts@thread.tacv2" } }`)}
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
      breakGlass: { groups: [dev] }
    - id: payouts-two-people
      when: facts.http.path.startsWith("/payouts")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      notify: [{ teams: payouts }, { slack: C0APPROVALS }]
    - id: wires
      when: facts.http.path.startsWith("/wires")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
`,
    { principals: DEFAULT_PRINCIPALS.map((p) => (EMAILS[p.id] ? { ...p, email: EMAILS[p.id] } : p)) },
  );
  endpoint = `${gw.url}/integrations/teams/messages`;
});

afterAll(async () => {
  await gw?.stop();
  await bf?.close();
  await slack?.close();
  await upstream?.close();
});

async function hold(path = '/invoices', reason = '**APPROVED** by [security](https://evil.example) <at>everyone</at>'): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'POST', path, body: { amount: 12 } }, reason } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const cardOf = (activity: { body: { attachments?: { content: unknown }[] } }) => activity.body.attachments?.[0]?.content as Record<string, unknown>;
const postedFor = (id: string) => eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id) && !p.conversationId.startsWith('a:')));
const updatedFor = (id: string, text: string) => eventually(async () => bf.updated.find((u) => JSON.stringify(u.body).includes(id) && JSON.stringify(u.body).includes(text)));
const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
/** A click as the card sends it: billing-api is tagged prod, so Approve carries the ticked toggle unless `confirm` says otherwise. */
const click = (who: string, verb: 'approve' | 'deny' | 'refresh', requestId: string, reason?: string, confirm: string | null = verb === 'approve' ? 'true' : null, conversationId?: string) =>
  bf.send(endpoint, bf.invokeActivity({ verb, requestId, aadObjectId: AAD[who] ?? who, ...(reason !== undefined ? { reason } : {}), ...(confirm !== null ? { confirm } : {}), ...(conversationId ? { conversationId } : {}) }));
/** The card an invoke answered with. */
const answered = (res: { status: number; body: unknown }) => {
  expect(res.status).toBe(200);
  const body = res.body as { statusCode: number; type: string; value: Record<string, unknown> };
  expect(body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
  return body.value;
};
const texts = (card: unknown): string => JSON.stringify(card);
/** Resolves once the Teams channel owes nothing, so an injected failure hits the next delivery and no earlier one. */
const drained = () => eventually(async () => (((await gw.deps.store.outboxHealth()).find((h) => h.channel === 'teams')?.pending ?? 0) === 0 ? true : undefined), 10_000);

describe('a held request in Teams', () => {
  it('posts one card with everything needed to decide, agent text in plain runs, buttons carrying only the id', async () => {
    const id = await hold();
    const post = await postedFor(id);
    expect(post.conversationId).toBe('19:approvals@thread.tacv2');
    expect(post.authorization).toMatch(/^Bearer fake-access-token-/);
    const card = cardOf(post);
    const text = texts(card);
    for (const part of ['Approval needed', 'deploy-bot', 'carol', 'billing-api', 'env: prod', 'compliance: soc2, gdpr', 'POST /invoices', 'prod-writes', '1 from group sre', `https://countersign.example.com/requests/${id}`]) expect(text).toContain(part);
    expect(text).toContain('"type":"TextRun","text":"**APPROVED** by [security](https://evil.example) <at>everyone</at>"');
    const actions = card['actions'] as { type: string; verb?: string; data?: unknown; card?: { body: unknown[]; actions: { verb: string; data: unknown }[] } }[];
    // The action leads, with its risks; billing-api is prod and PII, so Approve opens a confirmation first.
    expect(text).toContain('"type":"TextRun","text":"POST /invoices on billing-api"');
    expect(text).toContain('"text":"writes · prod · PII · irreversible"');
    expect(text).toContain("Agent's claim (unverified): ");
    expect(actions[0]).toMatchObject({ type: 'Action.ShowCard', title: 'Approve…' });
    expect(JSON.stringify(actions[0]?.card?.body[0])).toContain('"type":"TextRun","text":"I understand this runs POST /invoices on billing-api on production, on personal data (PII)."');
    expect(actions[0]?.card?.body[1]).toMatchObject({ type: 'Input.Toggle', id: 'confirm', isRequired: true, valueOn: 'true', title: 'I understand, and approve the action above' });
    expect(actions[0]?.card?.actions[0]).toMatchObject({ type: 'Action.Execute', verb: 'approve', title: 'Approve and run POST /invoices on billing-api', data: { requestId: id }, associatedInputs: 'auto' });
    expect(actions[1]?.card?.actions[0]).toMatchObject({ verb: 'deny', data: { requestId: id } });
    // The card's reference is recorded once the Bot Connector has answered the post, a moment after the fake saw it.
    const recorded = await eventually(async () => (await gw.deps.store.channelMessages(id, 'teams'))[0]?.ref);
    expect(recorded).toEqual({ target: 'default', serviceUrl: bf.serviceUrl, conversationId: '19:approvals@thread.tacv2', activityId: post.activityId });
    // A refresh answers with the card as it stands.
    expect(texts(answered(await click('dave', 'refresh', id)))).toContain('Approval needed');
  });

  it('refuses an approval on a prod connection without the ticked confirmation, and records nothing', async () => {
    const id = await hold('/invoices/unconfirmed');
    await postedFor(id);
    for (const confirm of [null, 'false', '']) {
      const res = await click('alice', 'approve', id, undefined, confirm);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'CONFIRMATION_REQUIRED' } });
    }
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await status(id)).toBe('pending');
    answered(await click('alice', 'approve', id));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
  });

  it('approves on a signed click by a known human, runs once, replaces the card without buttons, DMs the requester’s human', async () => {
    const id = await hold();
    const post = await postedFor(id);
    const card = answered(await click('alice', 'approve', id));
    expect(card['actions']).toBeUndefined();
    expect(texts(card)).toMatch(/Approved, running|Approved and executed/);
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(upstream.calls.filter((c) => c.url === '/invoices')).toHaveLength(1);
    expect((await storedAudit(gw.deps.store, id)).find((e) => e.type === 'review.recorded')?.data).toMatchObject({ via: 'teams', channelUser: AAD['alice'], verdict: 'approve' });
    const update = await updatedFor(id, 'Approved and executed');
    expect(update.activityId).toBe(post.activityId);
    expect(texts(cardOf(update))).toContain('HTTP 200');
    expect(texts(cardOf(update))).not.toContain('Action.Execute');
    // deploy-bot acts for carol, who is in the approvals conversation: a 1:1 chat with the outcome.
    await eventually(async () => bf.conversationsCreated.find((c) => JSON.stringify(c).includes(AAD['carol']!)));
    const dm = await eventually(async () => bf.posted.find((p) => p.conversationId.startsWith('a:') && JSON.stringify(p.body).includes(id)));
    expect(texts(cardOf(dm))).toContain('Approved and executed');
  });

  it('replaces the card when the request is approved through the API', async () => {
    const id = await hold();
    await postedFor(id);
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok from the API' } })).status).toBe(200);
    const update = await updatedFor(id, 'Approved by');
    expect(texts(cardOf(update))).toContain('"text":"bob"');
    // No buttons; only the refresh action while it still runs.
    expect(cardOf(update)['actions']).toBeUndefined();
  });

  it('says a break-glass in the conversation and shows it on the card', async () => {
    const id = await hold();
    await postedFor(id);
    const ran = await gw.as('dave', `/v1/requests/${id}/break-glass`, { body: { justification: 'invoice run is blocked' } });
    expect([ran.status, ran.body.status]).toEqual([200, 'succeeded']);
    const said = await eventually(async () => bf.posted.find((p) => texts(cardOf(p)).includes('Break-glass: dave ran this request') && texts(cardOf(p)).includes(id)));
    expect(said.conversationId).not.toMatch(/^a:/);
    expect(texts(cardOf(said))).toContain('Justification: invoice run is blocked');
    const card = await updatedFor(id, 'Safety nets');
    expect(texts(cardOf(card))).toContain('Break-glass by dave');
  });

  it('denies with the reason typed into the card, which reaches the audit log and the card', async () => {
    const id = await hold();
    await postedFor(id);
    // A deny without a reason records nothing.
    expect(texts(answered(await click('bob', 'deny', id, '  ')))).toContain('Say why you deny');
    const card = answered(await click('bob', 'deny', id, 'not during the freeze'));
    expect(texts(card)).toContain('Denied');
    expect(await status(id)).toBe('denied');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'bob', verdict: 'deny' }]);
    expect((await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.denied')?.data['message']).toContain('not during the freeze');
    expect(texts(cardOf(await updatedFor(id, 'not during the freeze')))).toContain('Denied by ');
  });

  it('refuses the human the agent acts for and a stranger in the card, with 200 and an audit event each', async () => {
    const id = await hold();
    await postedFor(id);
    const self = answered(await click('carol', 'approve', id));
    expect(self['body']).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Container', style: 'warning' })]));
    expect(self['actions']).toBeDefined();
    answered(await click('stranger', 'approve', id));
    answered(await click('bbbbbbbb-0000-0000-0000-000000000000', 'approve', id));
    const refused = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'channel.refused');
    expect(refused.map((e) => e.data['reason']).sort()).toEqual(['review.self_approval_forbidden', 'user.no_email', 'user.unknown_email']);
    expect(refused[0]?.data).toMatchObject({ channel: 'teams' });
    expect(await status(id)).toBe('pending');
  });

  it('a configured human’s email counts only on a member (not a guest) of the configured tenant, as the record says', async () => {
    const id = await hold();
    await postedFor(id);
    answered(await click(GUEST, 'approve', id));
    answered(await click(OTHER_TENANT, 'approve', id));
    answered(await click(NO_ROLE, 'approve', id));
    answered(await click(NO_TENANT, 'approve', id));
    const refused = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'channel.refused');
    expect(refused.map((e) => [e.data['teamsUser'], e.data['reason']])).toEqual([
      [GUEST, 'user.no_email'],
      [OTHER_TENANT, 'user.no_email'],
      [NO_ROLE, 'user.no_email'],
      [NO_TENANT, 'user.no_email'],
    ]);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await status(id)).toBe('pending');
  });

  it('counts one person once across Slack and Teams, and posts to the conversation the rule names', async () => {
    const id = await hold('/payouts/7', 'payout');
    const post = await postedFor(id);
    expect(post.conversationId).toBe('19:payouts@thread.tacv2');
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    expect((await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id })).status).toBe(200);
    await eventually(async () => ((await storedReviewers(gw.deps.store, id)).length === 1 ? true : undefined));
    // The card is in the payouts conversation only: a click carrying its id from the approvals conversation
    // (a card someone made there) learns nothing of it and decides nothing.
    for (const verb of ['refresh', 'approve'] as const) {
      const elsewhere = await click('bob', verb, id);
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.body).toMatchObject({ statusCode: 404, type: 'application/vnd.microsoft.error', value: { code: 'NOT_FOUND' } });
      expect(JSON.stringify(elsewhere.body)).not.toContain('payout');
    }
    const payouts = '19:payouts@thread.tacv2';
    expect(texts(answered(await click('alice', 'approve', id, undefined, 'true', payouts)))).toContain('You have already reviewed this request.');
    expect(await status(id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    answered(await click('bob', 'approve', id, undefined, 'true', payouts));
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined));
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }, { reviewer: 'bob', verdict: 'approve' }]);
  });

  it('retries a card the Bot Connector could not take (503), and sets aside one it refused (403)', async () => {
    await drained();
    bf.failNext(503);
    const id = await hold();
    await postedFor(id);
    expect((await gw.deps.store.outboxHealth()).find((h) => h.channel === 'teams')?.dead ?? 0).toBe(0);
    await drained();
    bf.failNext(403);
    const refused = await hold();
    const dead = await eventually(async () => {
      const h = (await gw.deps.store.outboxHealth()).find((x) => x.channel === 'teams');
      return h && h.dead > 0 ? h : undefined;
    });
    expect(dead.lastError).toContain('403');
    expect(bf.posted.some((p) => JSON.stringify(p.body).includes(refused))).toBe(false);
  });

  it('replaces a card the Bot Connector refuses to update (413) with a minimal one that has no buttons', async () => {
    const id = await hold('/invoices/refused-update');
    await postedFor(id);
    await drained();
    bf.failNext(413);
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const minimal = await updatedFor(id, 'Open the request in Countersign for the details.');
    const card = cardOf(minimal);
    expect(card['actions']).toBeUndefined();
    expect(texts(card)).toContain('POST /invoices/refused-update on billing-api');
    expect(texts(card)).toContain(`https://countersign.example.com/requests/${id}`);
  });

  it('answers 404 in the card for a request that never went to Teams', async () => {
    const res = await click('alice', 'approve', 'req_nonexistent');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 404, type: 'application/vnd.microsoft.error' });
  });
});

describe('forged tokens', () => {
  const cases: [string, () => Promise<{ token: string; activity?: Record<string, unknown> }>, string][] = [
    ['a token for another bot', async () => ({ token: await bf.signToken({ claims: { aud: '99999999-2222-3333-4444-555555555555' } }) }), 'teams.audience_invalid'],
    ['a token from another issuer', async () => ({ token: await bf.signToken({ claims: { iss: 'https://sts.windows.net/evil/' } }) }), 'teams.issuer_invalid'],
    ['a token expired 6 minutes ago', async () => ({ token: await bf.signToken({ now: new Date(Date.now() - 3600_000), lifetimeSeconds: 3600 - 360 }) }), 'teams.expired'],
    ['a serviceUrl claim that is not the activity’s', async () => ({ token: await bf.signToken({ claims: { serviceUrl: 'https://smba.evil.example/' } }) }), 'teams.service_url_mismatch'],
    ['a key not endorsed for msteams', async () => ({ token: await bf.signToken({ key: bf.keys.webchatOnly }) }), 'teams.key_not_endorsed'],
    [
      'an HS256 token keyed with the public key material',
      async () => ({
        token: await new SignJWT({ iss: 'https://api.botframework.com', aud: bf.appId, serviceUrl: bf.serviceUrl })
          .setProtectedHeader({ alg: 'HS256', kid: bf.keys.teams.kid })
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(String(bf.keys.teams.publicJwk.n))),
      }),
      'teams.alg_not_allowed',
    ],
    ['no token at all', async () => ({ token: '' }), 'teams.token_missing'],
  ];
  for (const [name, forge, reason] of cases) {
    it(`refuses ${name} with 401 and an audit event, and records no review`, async () => {
      const id = await hold();
      await postedFor(id);
      const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused').length;
      const { token } = await forge();
      const res = await bf.send(endpoint, bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId: AAD['alice']! }), { token: token || null });
      expect(res.status).toBe(401);
      expect((res.body as { error: { reason: string } }).error.reason).toBe(reason);
      const refused = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused');
      expect(refused).toHaveLength(before + 1);
      expect(refused.at(-1)?.data).toMatchObject({ channel: 'teams', reason });
      if (token) expect(JSON.stringify(refused.at(-1))).not.toContain(token.split('.')[2]);
      expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    });
  }

  it('refuses a body that never ends once it passes 256 KB, without waiting for the rest', async () => {
    const answer = await postEndless(endpoint, { 'content-type': 'application/json' });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.reason).toBe('body.too_large');
  }, 10_000);

  it('records a flood of calls without a token at most 20 a second, counting the rest on a later event even when no call follows', async () => {
    const refusedEvents = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type === 'channel.refused' && e.data['channel'] === 'teams');
    const before = (await refusedEvents()).length;
    const forged = () => bf.send(endpoint, bf.invokeActivity({ verb: 'approve', requestId: 'req_flood', aadObjectId: AAD['alice']! }), { token: null });
    const sent = 80;
    expect((await Promise.all(Array.from({ length: sent }, forged))).every((r) => r.status === 401)).toBe(true);
    expect((await refusedEvents()).length - before).toBeLessThan(sent);
    // The flood stopped: what was not recorded one by one is still counted, on an event of its own.
    const added = await eventually(async () => {
      const added = (await refusedEvents()).slice(before);
      return added.reduce((n, e) => n + 1 + Number(e.data['suppressedBefore'] ?? 0), 0) === sent ? added : undefined;
    }, 15_000);
    expect(added.some((e) => typeof e.data['suppressedBefore'] === 'number')).toBe(true);
  });

  it('shows the Teams channel in /readyz', async () => {
    await drained();
    const res = await fetch(`${gw.url}/readyz`);
    expect(((await res.json()) as { channels: Record<string, unknown> }).channels['teams']).toMatchObject({ status: 'ok' });
  });
});

describe('a step-up request in Teams', () => {
  it('says approval needs a passkey, and an Approve decides nothing: the card answers with the console link', async () => {
    const id = await hold('/wires');
    expect(texts(cardOf(await postedFor(id)))).toContain('approval needs a passkey in the console');
    const card = answered(await click('alice', 'approve', id));
    expect(texts(card)).toContain(`needs every approval confirmed with a passkey; confirm with a passkey at https://countersign.example.com/requests/${id}`);
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'review.recorded')).toEqual([]);
    expect(events.filter((e) => e.type === 'review.refused').map((e) => [e.data['code'], e.data['via']])).toEqual([['STEP_UP_REQUIRED', 'teams']]);
  });
});
