/**
 * A Teams click decides only the request whose card it was made on. The
 * card's buttons carry nothing but a request id, and Teams says which message
 * the click came from (`replyToId`, the activity the gateway posted the card
 * as). A click naming request B from the card of request A (a card edited in
 * the client, a crafted Action.Execute) in the same conversation, or from no
 * card at all, decides nothing: it is answered on the card, kept in the audit
 * log as `channel.refused` (card.elsewhere), and B stays pending. The same
 * click from B's own card counts. Slack binds its clicks the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const ALICE = 'aaaaaaaa-0000-0000-0000-000000000001';
let bf: FakeBotFramework;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  bf = await startFakeBotFramework();
  bf.members.set(ALICE, { aadObjectId: ALICE, email: 'alice@example.com', name: 'alice' });
  upstream = await startUpstream();
  gw = await startTestGateway(
    `channels:
${bf.channelYaml()}
  publicUrl: https://countersign.example.com
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - id: writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    { principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, email: 'alice@example.com' } : p)) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([bf?.close(), upstream?.close()]);
});

async function hold(path: string): Promise<{ id: string; activityId: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'release' } });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  const post = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id) && !p.conversationId.startsWith('a:')));
  // The gateway keeps the card's activity once the Bot Connector answered the post.
  await eventually(async () => ((await gw.deps.store.channelMessages(id, 'teams')).length > 0 ? true : undefined));
  return { id, activityId: post.activityId };
}

const endpoint = () => `${gw.url}/integrations/teams/messages`;
const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
const elsewhere = async (id: string) =>
  (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'channel.refused' && e.data['reason'] === 'card.elsewhere').map((e) => [e.data['channel'], e.data['teamsUser']]);

describe('a Teams click', () => {
  it('naming another request than the card it was made on decides nothing, and is audited', async () => {
    const a = await hold('/deploy/a');
    const b = await hold('/deploy/b');
    for (const verb of ['approve', 'deny'] as const) {
      const res = await bf.send(endpoint(), bf.invokeActivity({ verb, requestId: b.id, aadObjectId: ALICE, replyToId: a.activityId, confirm: 'true', reason: 'no' }));
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).toContain('not on this message');
    }
    expect(await status(b.id)).toBe('pending');
    expect(await status(a.id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, b.id)).toEqual([]);
    expect(await elsewhere(b.id)).toEqual([
      ['teams', ALICE],
      ['teams', ALICE],
    ]);
    expect(upstream.calls.filter((c) => c.url === '/deploy/b')).toEqual([]);

    // From B's own card, the same click counts.
    const ok = await bf.send(endpoint(), bf.invokeActivity({ verb: 'approve', requestId: b.id, aadObjectId: ALICE, replyToId: b.activityId, confirm: 'true' }));
    expect(ok.status).toBe(200);
    await eventually(async () => ((await status(b.id)) === 'succeeded' ? true : undefined), 15_000);
    expect(await storedReviewers(gw.deps.store, b.id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
  });

  it('made the moment the card shows, before the gateway has remembered it, counts', async () => {
    // Teams shows the card as soon as it has it; the gateway remembers the card once Teams answered the post.
    let answer!: () => void;
    bf.postAnswerGate = new Promise<void>((r) => (answer = r));
    try {
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/deploy/early', body: {} }, reason: 'release' } });
      expect(res.status).toBe(202);
      const id = res.body.id as string;
      await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id) && !p.conversationId.startsWith('a:')));
      expect(await gw.deps.store.channelMessages(id, 'teams')).toEqual([]);
      const click = bf.send(endpoint(), bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId: ALICE, confirm: 'true' }));
      await new Promise((r) => setTimeout(r, 300));
      answer();
      const clicked = await click;
      expect(clicked.status).toBe(200);
      expect(JSON.stringify(clicked.body)).not.toContain('NOT_FOUND');
      await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000);
      expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
      expect(await elsewhere(id)).toEqual([]);
    } finally {
      bf.postAnswerGate = undefined;
      answer?.();
    }
  });

  it('from no card at all (no replyToId) decides nothing either', async () => {
    const c = await hold('/deploy/c');
    const res = await bf.send(endpoint(), bf.invokeActivity({ verb: 'approve', requestId: c.id, aadObjectId: ALICE, replyToId: null, confirm: 'true' }));
    expect(res.status).toBe(200);
    expect(await status(c.id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, c.id)).toEqual([]);
    expect(await elsewhere(c.id)).toEqual([['teams', ALICE]]);
  });
});
