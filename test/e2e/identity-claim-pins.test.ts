/**
 * An issuer that several tenants share (gitlab.com, Buildkite, HCP Terraform)
 * signs any tenant's job a token for our audience: the config requires
 * `claims:` pinning the tenant by id, and the gateway takes only tokens that
 * carry every pinned claim with one of its values. Real parts: the gateway,
 * a token issuer on 127.0.0.1 serving discovery and a JWKS, tokens signed as
 * a CI provider signs them (GitLab's claims).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';

let ci: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  ci = await startTestIssuer('/ci');
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${ci.issuer}
      audience: countersign
      principal: { kind: agent, id: project_path }
      claims: { namespace_id: [1234], ref_protected: ["true"] }
connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules: []
`,
    { principals: DEFAULT_PRINCIPALS },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await ci?.close();
});

const whoami = async (token: string) => {
  const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
};

const job = (claims: Record<string, unknown>) => ci.sign({ aud: 'countersign', sub: 'project_path:acme/app:ref_type:branch:ref:main', project_path: 'acme/app', ...claims });

describe('an issuer with claims pinned', () => {
  it('takes a token of the pinned tenant (the id as a number or as text)', async () => {
    expect(await whoami(await job({ namespace_id: 1234, ref_protected: 'true' }))).toMatchObject({ status: 200, body: { id: 'acme/app', kind: 'agent' } });
    expect(await whoami(await job({ namespace_id: '1234', ref_protected: 'true' }))).toMatchObject({ status: 200, body: { id: 'acme/app' } });
  });

  it('refuses another tenant’s token, and one without a pinned claim (401 token.claim_not_allowed, in auth.failed)', async () => {
    const before = (await storedAudit(gw.deps.store)).length;
    for (const claims of [{ namespace_id: 999, ref_protected: 'true' }, { ref_protected: 'true' }, { namespace_id: 1234, ref_protected: 'false' }, { namespace_id: [1234], ref_protected: 'true' }]) {
      const res = await whoami(await job(claims));
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'token.claim_not_allowed' });
    }
    const failed = (await storedAudit(gw.deps.store)).slice(before).filter((e) => e.type === 'auth.failed');
    expect(failed.map((e) => e.data['reason'])).toEqual(Array(4).fill('token.claim_not_allowed'));
  });
});
