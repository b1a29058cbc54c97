/**
 * One person, two names. Where humans sign in through an identity provider, a
 * configured human is known at that provider by their email; one configured
 * without it would be a second person there: able to approve what they asked
 * for with their own API key, and to approve twice toward a quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let idp: TestIssuer;

beforeAll(async () => {
  upstream = await startUpstream();
  idp = await startTestIssuer('/people');
});

afterAll(async () => {
  await Promise.all([idp?.close(), upstream?.close()]);
});

const body = () => `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: email, groups: groups }
      groupMap: { okta-dba: [dba] }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: schema
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [dba] }]
`;

describe('a configured human without an email, where humans sign in through a provider', () => {
  it('is refused at start: their provider token would be another person, who approves what their API key asked', async () => {
    // ops submits with her own API key (automation run under her name); her provider account is in okta-dba.
    const principals: TestPrincipal[] = [{ id: 'ops', kind: 'human', groups: [] }];
    await expect(startTestGateway(body(), { principals })).rejects.toThrow(/principals\[0\]\.email: ops has no email/);
  });

  it('is refused at start when an approver: their API key and their token would be two approvals', async () => {
    const principals: TestPrincipal[] = [{ id: 'deploy-bot', kind: 'agent' }, { id: 'dina', kind: 'human', groups: ['dba'] }];
    await expect(startTestGateway(body(), { principals })).rejects.toThrow(/principals\[1\]\.email: dina has no email/);
  });

  it('with her email configured, her token is her: she cannot approve what her API key asked', async () => {
    const gw = await startTestGateway(body(), { principals: [{ id: 'ops', kind: 'human', groups: [], email: 'ops@example.com' }] });
    try {
      const held = await gw.as('ops', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/schema/1', body: {} }, reason: 'migrate' } });
      expect(held.status).toBe(202);
      const t = await idp.sign({ aud: 'countersign', sub: '00u-ops', email: 'ops@example.com', email_verified: true, groups: ['okta-dba'] });
      const res = await fetch(`${gw.url}/v1/requests/${held.body.id}/reviews`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ verdict: 'approve' }) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SELF_APPROVAL_FORBIDDEN');
      expect((await gw.deps.store.getRequest(held.body.id))?.status).toBe('pending');
      expect(upstream.calls.length).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});
