/**
 * The human an agent acts for, named by its token in another case or in compatibility characters of her configured
 * id (a GitHub Actions `actor` spelled `Alice` for the configured `alice`, a fullwidth letter, a zero-width space),
 * is that human: she never approves, nor breaks the glass on, her agent's request with her API key. Being on the
 * requester side only ever refuses, so a name that reads as hers is taken as hers. Another human approves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let agents: TestIssuer;
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  agents = await startTestIssuer('/workloads');
  upstream = await startUpstream();
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${agents.issuer}
      audience: countersign
      principal: { kind: agent, id: sub, actsFor: act.sub }
connections:
  - { name: ops-api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
      breakGlass: { groups: [sre] }
      ttl: 1h
`,
    { principals: withHumanEmails(DEFAULT_PRINCIPALS) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([agents?.close(), upstream?.close()]);
});

async function holdFor(actsFor: string | undefined, n: number, claims: Record<string, unknown> = {}): Promise<string> {
  const token = await agents.sign({ aud: 'countersign', sub: `ci-run-${n}`, ...(actsFor === undefined ? {} : { act: { sub: actsFor } }), ...claims });
  const res = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path: `/deploy/${n}`, body: {} }, reason: 'deploy on her behalf' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('an agent acting for a spelling of a configured human’s id', () => {
  const variants = ['Alice', 'ALICE', '\uFF41lice', 'alice\u200B', ' alice'];
  for (const [n, name] of variants.entries()) {
    it(`keeps alice from approving or breaking the glass when named ${JSON.stringify(name)}; bob approves`, async () => {
      const id = await holdFor(name, n);
      const own = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect([own.status, own.body.error?.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
      const glass = await gw.as('alice', `/v1/requests/${id}/break-glass`, { body: { justification: 'prod is down, INC-1' } });
      expect(glass.status).toBe(403);
      expect(glass.body.error?.code).toBe('BREAK_GLASS_NOT_ALLOWED');
      expect(await storedStatus(gw.deps.store, id)).toBe('pending');
      expect(upstream.calls.filter((c) => c.url === `/deploy/${n}`)).toHaveLength(0);
      const other = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect(other.status).toBe(200);
    });
  }
});

describe('an agent whose token carries a human’s verified email, acting for nobody', () => {
  // The workload holds her credential (a token her provider minted for her): what it asks is hers.
  for (const [n, email] of ['Alice@Example.com', 'alice+ci@example.com'].entries()) {
    it(`keeps alice from approving or breaking the glass when the token says ${email}; bob approves`, async () => {
      const id = await holdFor(undefined, 100 + n, { email, email_verified: true });
      const own = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect([own.status, own.body.error?.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
      const glass = await gw.as('alice', `/v1/requests/${id}/break-glass`, { body: { justification: 'prod is down, INC-2' } });
      expect([glass.status, glass.body.error?.code]).toEqual([403, 'BREAK_GLASS_NOT_ALLOWED']);
      expect(await storedStatus(gw.deps.store, id)).toBe('pending');
      expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    });
  }
});
