/**
 * One mailbox under a provider's other spellings of it is one person. Gmail delivers
 * `g.a.i.l@gmail.com`, `gail@googlemail.com` and `gail@gmail.com` to one inbox,
 * so whoever reads it can verify an account at any provider under each of
 * them: two such accounts are two verified emails, two ids, and were two
 * reviewers (a quorum of two alone), and the human an agent acts for approved
 * its request under a dotted spelling of her address. As with a `+tag`, they
 * are one person wherever that only refuses. So are Fastmail's subdomain
 * addresses (`anything@dana.fastmail.com` is delivered to `dana@fastmail.com`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let idp: TestIssuer;
let gw: TestGateway;

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', actsFor: 'alice' },
  { id: 'ci-bot', kind: 'agent', email: 'ci.bot@gmail.com' },
  { id: 'alice', kind: 'human', groups: ['sre'], email: 'alice.jones@gmail.com' },
];

beforeAll(async () => {
  upstream = await startUpstream();
  idp = await startTestIssuer('/people');
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { okta-dba: [dba] }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: one-dba
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [dba] }]
      breakGlass: { groups: [dba] }
    - id: two-dba
      when: facts.http.method == "POST" && facts.http.path.startsWith("/schema")
      effect: approve
      approvers: [{ groups: [dba], count: 2 }]
`,
    { principals: PRINCIPALS },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([idp?.close(), upstream?.close()]);
});

async function withToken(token: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const token = (claims: Record<string, unknown>) => idp.sign({ aud: 'countersign', email_verified: true, groups: ['okta-dba'], ...claims });

async function hold(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'ship it' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const approveWith = (t: string, id: string) => withToken(t, `/v1/requests/${id}/reviews`, { verdict: 'approve' });

describe('one mailbox under a provider’s other spellings of it', () => {
  it('is one reviewer: dots and googlemail.com give no second approval toward a quorum of two', async () => {
    const id = await hold('/schema/gmail');
    const first = await token({ sub: 'gail-main', email: 'gail.smith@gmail.com' });
    expect((await approveWith(first, id)).status).toBe(200);
    for (const [sub, email] of [
      ['gail-dotless', 'gailsmith@gmail.com'],
      ['gail-google', 'Gail.Smith@googlemail.com'],
      ['gail-dots-tag', 'g.a.i.l.s.m.i.t.h+ops@GMAIL.com'],
    ] as const) {
      const other = await token({ sub, email });
      // Another id (it is not taken as her: none of her groups or roles) ...
      expect((await withToken(other, '/v1/whoami')).body.id).toBe(email.toLowerCase());
      // ... but one mailbox, so one reviewer.
      const again = await approveWith(other, id);
      expect(again.status, email).toBe(409);
      expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'gail.smith@gmail.com', verdict: 'approve' }]);
    expect((await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'request.approved')).toEqual([]);
    // Another person's mailbox completes it.
    const henry = await token({ sub: 'henry', email: 'henry@gmail.com' });
    expect((await approveWith(henry, id)).status).toBe(200);
    expect(await storedStatus(gw.deps.store, id)).not.toBe('pending');
  });

  it('is the human an agent acts for: she neither approves nor breaks the glass on its request under another spelling', async () => {
    const id = await hold('/deploy/gmail');
    for (const [sub, email] of [
      ['alice-dotless', 'alicejones@gmail.com'],
      ['alice-google', 'a.l.i.c.e.jones@googlemail.com'],
    ] as const) {
      const alice = await token({ sub, email });
      const res = await approveWith(alice, id);
      expect(res.status, email).toBe(403);
      expect(res.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
      const glass = await withToken(alice, `/v1/requests/${id}/break-glass`, { justification: 'INC-1: cannot wait' });
      expect(glass.status, email).toBe(403);
      expect(glass.body.error.code).toBe('BREAK_GLASS_NOT_ALLOWED');
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(upstream.calls.filter((c) => c.url.startsWith('/ops/deploy/gmail'))).toEqual([]);
  });

  it('is an agent’s mailbox: a token carrying another spelling of its address is refused as the wrong kind', async () => {
    const res = await withToken(await token({ sub: 'ci-reader', email: 'cibot@googlemail.com' }), '/v1/whoami');
    expect(res.status).toBe(401);
    expect(res.body.error.reason).toBe('principal.kind_mismatch');
  });

  it('at Fastmail, a subdomain address (anything@dana.fastmail.com) is dana@fastmail.com: one reviewer', async () => {
    const id = await hold('/schema/fastmail');
    expect((await approveWith(await token({ sub: 'dana-main', email: 'dana@fastmail.com' }), id)).status).toBe(200);
    const again = await approveWith(await token({ sub: 'dana-sub', email: 'reviews@Dana.Fastmail.com' }), id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVIEWED');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'dana@fastmail.com', verdict: 'approve' }]);
  });

  it('leaves other domains’ dots alone: there a dot is part of the address', async () => {
    const id = await hold('/schema/elsewhere');
    expect((await approveWith(await token({ sub: 'ivy-1', email: 'ivy.lee@example.com' }), id)).status).toBe(200);
    expect((await approveWith(await token({ sub: 'ivy-2', email: 'ivylee@example.com' }), id)).status).toBe(200);
    expect(await storedReviewers(gw.deps.store, id)).toHaveLength(2);
  });
});
