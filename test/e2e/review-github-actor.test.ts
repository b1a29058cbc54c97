/**
 * A GitHub Actions run asks as its repository, and the preset names nobody it acts for: the person whose push
 * started the run (the token's `actor`) is not on the requester side unless the issuer maps that claim. With
 * `actsFor: actor` and the human configured under their GitHub login, they cannot approve what their own run asks,
 * in whatever case GitHub spells the login; another approver can. Without the mapping they can (README, GitHub
 * Actions), which is why the README tells operators to map it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gh: TestIssuer;
const running: TestGateway[] = [];

const CLAIMS = {
  aud: 'countersign-prod',
  sub: 'repo:acme/deployer:ref:refs/heads/main',
  repository: 'acme/deployer',
  repository_id: '111',
  repository_owner_id: '9',
  job_workflow_ref: 'acme/deployer/.github/workflows/deploy.yml@refs/heads/main',
  ref: 'refs/heads/main',
};

beforeAll(async () => {
  [upstream, gh] = await Promise.all([startUpstream(), startTestIssuer()]);
});
afterAll(async () => {
  await Promise.all(running.map((g) => g.stop()));
  await Promise.all([upstream?.close(), gh?.close()]);
});

async function gateway(principal: string): Promise<TestGateway> {
  const gw = await startTestGateway(
    `identity:
  issuers:
    - preset: github-actions
      issuer: ${gh.issuer}
      jwksUri: ${gh.jwksUri}
      audience: countersign-prod
${principal}      repositories:
        - { id: 111, ownerId: 9 }
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: deploys, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`,
    { principals: [...DEFAULT_PRINCIPALS, { id: 'octo-alice', kind: 'human', groups: ['sre'] }] },
  );
  running.push(gw);
  return gw;
}

async function runAsks(gw: TestGateway, actor: string, path: string): Promise<string> {
  const token = await gh.sign({ ...CLAIMS, actor, triggering_actor: actor });
  const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path }, reason: 'deploy' }) });
  const body = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.id;
}

it('with actsFor: actor, the human whose push started the run cannot approve what it asks, in any case of the login; another approver can', async () => {
  const gw = await gateway('      principal: { kind: agent, id: repository, actsFor: actor }\n');
  for (const actor of ['octo-alice', 'Octo-Alice']) {
    const id = await runAsks(gw, actor, `/mapped/${actor}`);
    const own = await gw.as('octo-alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
    expect(own.status, JSON.stringify(own.body)).toBe(403);
    expect(own.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).body.status).toMatch(/approved|executing|succeeded/);
  }
});

it('without the mapping the run acts for nobody, and the human who started it approves it (the default the README warns of)', async () => {
  const gw = await gateway('');
  const id = await runAsks(gw, 'octo-alice', '/unmapped');
  const own = await gw.as('octo-alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
  expect(own.status, JSON.stringify(own.body)).toBe(200);
});
