/**
 * A person the gateway cannot link. A human token without a verified email
 * whose id names no configured principal is known only by that provider's id
 * claim: nothing ties it to the same person's account at another provider,
 * their API key or their chat account. Where humans come from more than one
 * place, such a token could be one person twice toward a quorum, or the human
 * an agent acts for approving its request: it is refused (401
 * principal.unlinked), and an approval one gave while it was the only place
 * stops counting. A verified email links the same person across issuers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let one: TestIssuer;
let two: TestIssuer;

beforeAll(async () => {
  upstream = await startUpstream();
  [one, two] = await Promise.all([startTestIssuer('/one'), startTestIssuer('/two')]);
});

afterAll(async () => {
  await Promise.all([one?.close(), two?.close(), upstream?.close()]);
});

const humanIssuer = (i: TestIssuer) => `    - issuer: ${i.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { idp-sre: [sre] }
`;

const body = (issuers: TestIssuer[]) => `identity:
  issuers:
${issuers.map(humanIssuer).join('')}connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: "true", effect: approve, approvers: [{ groups: [sre], count: 2 }] }
`;

async function call(gw: TestGateway, token: string, path: string, payload?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: payload === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  return { status: res.status, body: await res.json() };
}

async function hold(gw: TestGateway, as = 'ci-bot'): Promise<string> {
  const res = await gw.as(as, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate', body: {} }, reason: 'rotate keys' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

describe('two identity providers, a person without a verified email at either', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(body([one, two]), { principals: [{ id: 'ci-bot', kind: 'agent' }] });
  });
  afterAll(async () => gw?.stop());

  it('cannot sign in through both and fill a quorum of two alone: each token is refused (401 principal.unlinked)', async () => {
    const id = await hold(gw);
    const before = (await storedAudit(gw.deps.store)).length;
    for (const token of [await one.sign({ aud: 'countersign', sub: 'dee', groups: ['idp-sre'] }), await two.sign({ aud: 'countersign', sub: 'd.e.e', groups: ['idp-sre'], email: 'dee@example.com' })]) {
      const res = await call(gw, token, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.unlinked' });
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(upstream.calls.length).toBe(0);
    const failed = (await storedAudit(gw.deps.store)).slice(before).filter((e) => e.type === 'auth.failed');
    expect(failed.map((e) => [e.data.reason, e.data.issuer])).toEqual([
      ['principal.unlinked', one.issuer],
      ['principal.unlinked', two.issuer],
    ]);
  });

  it('is one reviewer once both providers verify her email: the second approval is 409 ALREADY_REVIEWED', async () => {
    const id = await hold(gw);
    const first = await one.sign({ aud: 'countersign', sub: 'dee', groups: ['idp-sre'], email: 'dee@example.com', email_verified: true });
    const second = await two.sign({ aud: 'countersign', sub: 'd.e.e', groups: ['idp-sre'], email: 'Dee@Example.com', email_verified: true });
    expect((await call(gw, first, `/v1/requests/${id}/reviews`, { verdict: 'approve' })).status).toBe(200);
    const again = await call(gw, second, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });
});

describe('one identity provider beside humans the configuration names', () => {
  const principals: TestPrincipal[] = [
    { id: 'ci-bot', kind: 'agent', actsFor: 'alice' },
    { id: 'alice', kind: 'human', groups: ['sre'], email: 'alice@example.com' },
  ];
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(body([one]), { principals });
  });
  afterAll(async () => gw?.stop());

  it('a configured human’s token without her verified email is refused: not a second sre beside her API key, nor a reviewer of her agent’s request', async () => {
    const id = await hold(gw);
    const token = await one.sign({ aud: 'countersign', sub: '00u-alice', groups: ['idp-sre'], email: 'alice@example.com' });
    const res = await call(gw, token, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(res.status).toBe(401);
    expect(res.body.error.reason).toBe('principal.unlinked');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    // Her token with the email verified is her, and she acts through ci-bot: her own request.
    const verified = await one.sign({ aud: 'countersign', sub: '00u-alice', groups: ['idp-sre'], email: 'alice@example.com', email_verified: true });
    expect((await call(gw, verified, `/v1/requests/${id}/reviews`, { verdict: 'approve' })).body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
  });
});

describe('one identity provider, the only place humans come from', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Agents also come with tokens of the second issuer, which may say whom they act for.
    const agents = `    - { issuer: ${two.issuer}, audience: countersign, principal: { kind: agent, id: sub, actsFor: on_behalf_of } }\n`;
    gw = await startTestGateway(body([one]).replace('connections:', `${agents}connections:`), { principals: [{ id: 'ci-bot', kind: 'agent' }] });
  });
  afterAll(async () => gw?.stop());

  it('takes its people by its id claim alone: two accounts there are two reviewers', async () => {
    const id = await hold(gw);
    for (const sub of ['u-1', 'u-2']) {
      const res = await call(gw, await one.sign({ aud: 'countersign', sub, groups: ['idp-sre'] }), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
      expect(res.status).toBe(200);
    }
    await expect.poll(async () => storedStatus(gw.deps.store, id), { timeout: 10_000 }).toBe('succeeded');
  });

  it('an agent acting for a person by her email: nobody known by an id claim alone may approve its request, since she could be them', async () => {
    const agent = await two.sign({ aud: 'countersign', sub: 'dee-bot', on_behalf_of: 'Dee@Example.com' });
    const held = await call(gw, agent, '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path: '/rotate', body: {} }, reason: 'for dee' });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    const dee = await one.sign({ aud: 'countersign', sub: 'dee-sub', groups: ['idp-sre'] });
    const res = await call(gw, dee, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
  });
});

describe('an approval given while its provider was the only place humans came from', () => {
  // One store, two gateways in turn: the second adds a second provider of humans. The approval an unlinked person
  // gave on the first is then no more countable than a new token of theirs would be.
  let dir: string;
  let second: TestGateway | undefined;
  afterAll(async () => {
    await second?.stop();
    if (dir) await releaseTestStore(join(dir, 'countersign.db'));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts for nothing once a second provider is configured: two more approvals are needed, not one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-unlinked-'));
    const db = join(dir, 'countersign.db');
    const principals: TestPrincipal[] = [{ id: 'ci-bot', kind: 'agent' }];
    const keys: Record<string, string> = {};
    const first = await startTestGateway(await storeYaml(configYaml(principals, keys, body([one]), db)), { dir, keys });
    let id: string;
    try {
      id = await hold(first);
      const res = await call(first, await one.sign({ aud: 'countersign', sub: 'u-9', groups: ['idp-sre'] }), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
      expect(res.status).toBe(200);
    } finally {
      await first.stop();
    }
    const keys2: Record<string, string> = {};
    second = await startTestGateway(await storeYaml(configYaml(principals, keys2, body([one, two]), db)), { dir, keys: keys2 });
    const gw2 = second;
    const linked = (email: string) => two.sign({ aud: 'countersign', sub: email, email, email_verified: true, groups: ['idp-sre'] });
    expect((await call(gw2, await linked('vic@example.com'), `/v1/requests/${id}/reviews`, { verdict: 'approve' })).status).toBe(200);
    expect((await call(gw2, await linked('vic@example.com'), `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending' });
    expect((await call(gw2, await linked('wyn@example.com'), `/v1/requests/${id}/reviews`, { verdict: 'approve' })).status).toBe(200);
    await eventually(async () => ((await storedStatus(gw2.deps.store, id)) !== 'pending' ? true : undefined));
  });
});
