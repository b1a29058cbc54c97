/**
 * An agent's configured email is the agent's, never a person's. Whoever
 * proves that mailbox at an identity provider (the agent itself, with an
 * account there on its own address, or whoever runs it) is not a new human
 * reviewer: such a token or sign-in is refused as the wrong kind, or the
 * agent would approve its own request under its address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let idp: TestIssuer;
let gw: TestGateway;

const PRINCIPALS: TestPrincipal[] = [
  { id: 'release-bot', kind: 'agent', email: 'release-bot@example.com' },
  { id: 'alice', kind: 'human', groups: ['sre'], email: 'alice@example.com' },
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
      groupMap: { okta-eng: [sre] }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
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

describe('a token carrying an agent’s configured email', () => {
  it('is refused as the wrong kind, in any case and under a sub-address: the agent cannot approve its own request', async () => {
    const held = await gw.as('release-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/deploy', body: { v: 1 } }, reason: 'ship it' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    for (const email of ['release-bot@example.com', 'Release-Bot@Example.COM', 'release-bot+ci@example.com']) {
      const t = await idp.sign({ aud: 'countersign', sub: `00u-${email.length}`, email, email_verified: true, groups: ['okta-eng'] });
      const who = await withToken(t, '/v1/whoami');
      expect(who.status, email).toBe(401);
      expect(who.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.kind_mismatch' });
      expect((await withToken(t, `/v1/requests/${id}/reviews`, { verdict: 'approve' })).status, email).toBe(401);
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(upstream.calls).toEqual([]);
  });

  it('leaves other people’s addresses alone', async () => {
    const t = await idp.sign({ aud: 'countersign', sub: '00u-dana', email: 'dana@example.com', email_verified: true });
    expect(await withToken(t, '/v1/whoami')).toMatchObject({ status: 200, body: { id: 'dana@example.com', kind: 'human' } });
  });
});
