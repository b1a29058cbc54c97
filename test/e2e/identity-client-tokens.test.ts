/**
 * An issuer of people's tokens also issues tokens to client applications
 * (the client credentials grant: Okta's custom authorization servers, Auth0,
 * Entra ID, any RFC 9068 server), with the same issuer and audience. Such a
 * token speaks for a program, and an agent holding its own client secret at
 * that provider gets one: it must never be taken as a human, who may review.
 * Each is refused 401 `token.not_a_person` with an `auth.failed` event, and
 * the request it tried to approve stays pending; a person's token of the
 * same issuer approves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let people: TestIssuer;
let workloads: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  people = await startTestIssuer('/oauth2/default');
  workloads = await startTestIssuer('/workloads');
  gw = await startTestGateway(`identity:
  issuers:
    - issuer: ${people.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
    - issuer: ${workloads.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: notes
      when: facts.http.method == "POST" && facts.http.path.startsWith("/notes")
      effect: approve
      approvers: [{ count: 1 }]
`,
    { principals: withHumanEmails(DEFAULT_PRINCIPALS) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([people?.close(), workloads?.close(), upstream?.close()]);
});

async function call(token: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function hold(path: string): Promise<string> {
  const token = await workloads.sign({ aud: 'countersign', sub: 'notes-bot' });
  const res = await call(token, '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'a note' });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const CLIENT_TOKENS: [string, Record<string, unknown>][] = [
  ['an RFC 9068 client credentials token (sub is the client_id)', { sub: 'notes-bot-client', client_id: 'notes-bot-client', scope: 'countersign' }],
  ['an Okta client credentials token (sub is the cid)', { sub: '0oa1notesbot', cid: '0oa1notesbot', scp: ['countersign'], ver: 1 }],
  ['an Auth0 client credentials token (gty, sub <client>@clients)', { sub: 'nb7Xq@clients', azp: 'nb7Xq', gty: 'client-credentials' }],
  ['an Entra ID app-only token (idtyp app)', { sub: '5f3c-sp', oid: '5f3c-sp', azp: 'a1b2-app', idtyp: 'app' }],
  // idtyp is an optional claim an app registration must opt in to; without it, an app-only token is the one whose
  // subject is its own object id (a person's subject is pairwise, never the oid), with a client authentication and no scope.
  ['an Entra ID v2 app-only token without idtyp (sub is the oid, azpacr, no scp)', { sub: '7a9d-sp', oid: '7a9d-sp', tid: 't1', azp: 'c3d4-app', azpacr: '1', roles: ['Notes.Write'], ver: '2.0' }],
  ['an Entra ID v1 app-only token without idtyp (sub is the oid, appidacr, no scp)', { sub: '8b0e-sp', oid: '8b0e-sp', tid: 't1', appid: 'e5f6-app', appidacr: '2', ver: '1.0' }],
  // Keycloak: the service account's own user id as subject, with the claims of its service_account scope.
  ['a Keycloak service account token (clientHost, clientAddress)', { sub: '3c1d9e2a-svc', azp: 'notes-agent', client_id: 'notes-agent', preferred_username: 'service-account-notes-agent', clientHost: '10.0.0.7', clientAddress: '10.0.0.7' }],
];

/** People's tokens that look like a client's in part: each is a human who approves. */
const PERSON_TOKENS: [string, Record<string, unknown>][] = [
  ['an Entra ID delegated token (pairwise sub, scp)', { sub: 'pw-Zk1', oid: 'u-0001', tid: 't1', azp: 'c3d4-app', azpacr: '0', scp: 'Notes.Write', email: 'erin@example.com', email_verified: true }],
  ['an Azure AD B2C token (sub is the oid, no client authentication)', { sub: 'u-0002', oid: 'u-0002', tfp: 'B2C_1_signin', email: 'erin@example.com', email_verified: true }],
];

describe('a token a human issuer gave to a client application', () => {
  for (const [name, claims] of CLIENT_TOKENS) {
    it(`is no human: ${name} is refused 401 token.not_a_person and approves nothing`, async () => {
      const id = await hold(`/notes/${encodeURIComponent(String(claims['sub']))}`);
      const token = await people.sign({ aud: 'countersign', ...claims });
      const before = (await storedAudit(gw.deps.store)).length;
      const res = await call(token, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'token.not_a_person' });
      const failed = (await storedAudit(gw.deps.store)).slice(before).filter((e) => e.type === 'auth.failed');
      expect(failed.map((e) => e.data['reason'])).toEqual(['token.not_a_person']);
      expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
      expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    });
  }

  for (const [name, claims] of PERSON_TOKENS) {
    it(`leaves a person a human who approves: ${name}`, async () => {
      const id = await hold(`/notes/person-${encodeURIComponent(String(claims['sub']))}`);
      const res = await call(await people.sign({ aud: 'countersign', ...claims }), `/v1/requests/${id}/reviews`, { verdict: 'approve' });
      expect(res.status).toBe(200);
      expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'erin@example.com', verdict: 'approve' }]);
    });
  }

  it('leaves a person’s token of that issuer, carrying the client it was issued through, a human who approves', async () => {
    const id = await hold('/notes/by-a-person');
    const token = await people.sign({ aud: 'countersign', sub: '00u1erin', cid: '0oa1cli', client_id: '0oa1cli', azp: '0oa1cli', email: 'erin@example.com', email_verified: true });
    const res = await call(token, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(res.status).toBe(200);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'erin@example.com', verdict: 'approve' }]);
  });
});
