/**
 * Who clicked a Teams card is looked up at the Bot Connector of the
 * conversation the gateway posted the card to (its configuration), never at
 * the `serviceUrl` an activity names. An activity's serviceUrl is vouched for
 * by its token's claim, and nothing more: were the lookup sent there, the
 * bot's own Bot Connector token would go to that host with it, and whatever
 * member record the host answered (another person's email, the configured
 * tenant, `userRole: user`) would decide who approved. Real parts: the
 * gateway, a fake Bot Framework that signs as the real one, and a plain HTTP
 * server standing for the other host.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedReviewers } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const ALICE = 'aaaaaaaa-0000-0000-0000-000000000001';
const MALLORY = 'aaaaaaaa-0000-0000-0000-00000000000f';
let bf: FakeBotFramework;
let upstream: Upstream;
let gw: TestGateway;
let other: Server;
let otherUrl: string;
/** What reached the other host: the paths asked and the Authorization headers sent. */
const reached: { path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  bf = await startFakeBotFramework();
  bf.members.set(ALICE, { aadObjectId: ALICE, email: 'alice@example.com', name: 'alice' });
  other = createServer((req, res) => {
    reached.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    // Any member asked for is "alice", a member of the configured tenant.
    res.end(JSON.stringify({ id: `29:1${MALLORY}`, name: 'alice', aadObjectId: MALLORY, email: 'alice@example.com', userPrincipalName: 'alice@example.com', tenantId: bf.tenantId, userRole: 'user' }));
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/connector/`;
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
  await Promise.all([bf?.close(), upstream?.close(), new Promise<void>((r) => (other ? other.close(() => r()) : r()))]);
});

const status = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;

describe('a Teams click whose activity names another serviceUrl than the card’s conversation', () => {
  it('is looked up at the configured Bot Connector: the other host gets no request and no token, and names no reviewer', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/deploy/x', body: {} }, reason: 'release' } });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    await eventually(async () => ((await gw.deps.store.channelMessages(id, 'teams')).length > 0 ? true : undefined));

    const token = await bf.signToken({ claims: { serviceUrl: otherUrl } });
    const click = await bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId: MALLORY, serviceUrl: otherUrl }), { token });
    expect(click.status).toBe(200);
    expect(JSON.stringify(click.body)).toContain('not linked to a human');
    expect(reached).toEqual([]);
    expect(bf.memberLookups.at(-1)).toMatchObject({ userId: MALLORY });
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await status(id)).toBe('pending');

    // Alice's own click, as Teams sends it, still counts.
    const ok = await bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId: ALICE }));
    expect(ok.status).toBe(200);
    await eventually(async () => ((await status(id)) === 'succeeded' ? true : undefined), 15_000);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
  });
});
