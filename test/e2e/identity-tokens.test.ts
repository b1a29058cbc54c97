/**
 * Workload and bearer tokens from OIDC issuers on 127.0.0.1, verified for
 * real (jose against the issuer's JWKS over HTTP): accepted tokens become
 * principals policy can see (claims, GitHub subject, delegation); every
 * refused token answers 401 and leaves an `auth.failed` event that names the
 * reason and carries no part of the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { newSigningKey, startTestIssuer, unsignedToken, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { SignJWT } from 'jose';

let upstream: Upstream;
let generic: TestIssuer;
let gh: TestIssuer;
let okta: TestIssuer;
let evil: TestIssuer;
let gw: TestGateway;

const GH_CLAIMS = {
  aud: 'countersign-prod',
  sub: 'repo:acme/deployer:environment:prod',
  repository: 'acme/deployer',
  repository_id: '111',
  repository_owner: 'acme',
  repository_owner_id: '9',
  job_workflow_ref: 'acme/deployer/.github/workflows/deploy.yml@refs/heads/main',
  ref: 'refs/heads/main',
  environment: 'prod',
};

beforeAll(async () => {
  upstream = await startUpstream();
  [generic, gh, okta, evil] = await Promise.all([startTestIssuer('/idp'), startTestIssuer(), startTestIssuer('/oauth2/default'), startTestIssuer()]);
  gw = await startTestGateway(`identity:
  issuers:
    - issuer: ${generic.issuer}
      audience: countersign
      trustGroups: true
      principal: { kind: agent, id: sub, groups: groups, actsFor: act.sub }
    - preset: github-actions
      issuer: ${gh.issuer}
      jwksUri: ${gh.jwksUri}
      audience: countersign-prod
      repositories:
        - { id: 111, ownerId: 9, workflows: ["acme/deployer/.github/workflows/deploy.yml@*"] }
    - preset: okta
      issuer: ${okta.issuer}
      audience: api://countersign
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: prod-environment-only
      when: principal.github != null && principal.github.environment != "prod"
      effect: deny
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([generic, gh, okta, evil, upstream].map((s) => s?.close()));
});

const withToken = async (token: string, path: string, body?: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any, challenge: res.headers.get('www-authenticate') };
};

const read = { connection: 'ops-api', input: { method: 'GET', path: '/status' }, reason: 'look' };
const write = { connection: 'ops-api', input: { method: 'POST', path: '/deploy', body: { v: 1 } }, reason: 'ship' };

// auth.failed is recorded at most 20 times a second (the burst test below proves it): this file
// sends refusals in batches of 15 with a pause between, so each one it checks is recorded.
let sentInBatch = 0;

/** Sends a token that must be refused: 401, and one new auth.failed event with this reason and no trace of the token. */
async function refused(token: string, reason: string) {
  if (++sentInBatch > 15) {
    await new Promise((r) => setTimeout(r, 1100));
    sentInBatch = 1;
  }
  const before = (await storedAudit(gw.deps.store)).length;
  const res = await withToken(token, '/v1/actions', read);
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason });
  expect(res.challenge).toContain('error="invalid_token"');
  // Only auth.failed: an earlier test's approved request may still be finishing.
  const added = (await storedAudit(gw.deps.store)).slice(before).filter((e) => e.type === 'auth.failed');
  expect(added).toHaveLength(1);
  expect(added[0]).toMatchObject({ type: 'auth.failed', actor: null, data: { reason, surface: 'rest' } });
  const signature = token.split('.')[2]!;
  const serialized = JSON.stringify(added[0]);
  expect(serialized).not.toContain(token.split('.')[1]!);
  if (signature) expect(serialized).not.toContain(signature);
}

describe('accepted tokens', () => {
  it('a GitHub Actions token becomes the repository principal; policy sees the parsed subject and the claims', async () => {
    const token = await gh.sign(GH_CLAIMS);
    const who = await withToken(token, '/v1/whoami');
    expect(who).toMatchObject({ status: 200, body: { id: 'acme/deployer', kind: 'agent', actsFor: null } });
    const res = await withToken(token, '/v1/actions', read);
    expect(res.status).toBe(200);
    expect(upstream.calls.some((c) => c.url === '/ops/status')).toBe(true);
    const submitted = (await storedAudit(gw.deps.store, res.body.id)).find((e) => e.type === 'request.submitted');
    expect(submitted?.actor).toBe('acme/deployer');

    // Same repository from a workflow run on another environment: the policy reads principal.github.
    const staging = await gh.sign({ ...GH_CLAIMS, sub: 'repo:acme/deployer:environment:staging', environment: 'staging' });
    const denied = await withToken(staging, '/v1/actions', read);
    expect(denied.status).toBe(403);
    expect(denied.body.error.rules ?? denied.body.rules ?? JSON.stringify(denied.body)).toContain('prod-environment-only');
  });

  it('an Okta access token of a custom authorization server is accepted', async () => {
    const token = await okta.sign({ aud: 'api://countersign', sub: 'svc-reporting', cid: '0oa1client', scp: ['reports.read'], ver: 1, jti: 'AT.x' });
    expect(await withToken(token, '/v1/whoami')).toMatchObject({ status: 200, body: { id: 'svc-reporting', kind: 'agent' } });
  });

  it('a token a little past exp but within the skew (60 s) is still accepted', async () => {
    const token = await generic.sign({ aud: 'countersign', sub: 'skewed-bot', exp: Math.floor(Date.now() / 1000) - 30 });
    expect((await withToken(token, '/v1/whoami')).status).toBe(200);
  });

  it('delegation by the act claim: the human the agent acts for cannot approve its request; an agent token never reviews', async () => {
    const token = await generic.sign({ aud: 'countersign', sub: 'agent-7', act: { sub: 'carol' }, groups: ['sre'] });
    expect(await withToken(token, '/v1/whoami')).toMatchObject({ status: 200, body: { id: 'agent-7', actsFor: 'carol', groups: ['sre'] } });
    const held = await withToken(token, '/v1/actions', write);
    expect(held.status).toBe(202);
    const byCarol = await gw.as('carol', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(byCarol.status).toBe(403);
    expect(byCarol.body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
    // An agent whose token claims the sre group is still an agent.
    const other = await generic.sign({ aud: 'countersign', sub: 'agent-8', groups: ['sre'] });
    const byAgent = await withToken(other, `/v1/requests/${held.body.id}/reviews`, { verdict: 'approve' });
    expect(byAgent.status).toBe(403);
    expect(byAgent.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    const byAlice = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(byAlice.status).toBe(200);
  });
});

describe('refused tokens: 401 and auth.failed with the reason, never the token', () => {
  it('alg: none', async () => {
    await refused(unsignedToken({ iss: generic.issuer, aud: 'countersign', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 }), 'token.alg_not_allowed');
  });

  it('HS256 signed with the issuer’s RSA public key (algorithm confusion)', async () => {
    const pem = JSON.stringify(generic.current.publicJwk);
    const token = await new SignJWT({ iss: generic.issuer, aud: 'countersign', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: generic.current.kid })
      .sign(new TextEncoder().encode(pem));
    await refused(token, 'token.alg_not_allowed');
  });

  it('a kid that is not in the JWKS, and kids with path or SQL characters (which are never looked up)', async () => {
    const stranger = await newSigningKey();
    await refused(await generic.sign({ aud: 'countersign', sub: 'x' }, { key: stranger }), 'token.kid_unknown');
    const fetched = generic.fetches.jwks;
    await refused(await generic.sign({ aud: 'countersign', sub: 'x' }, { header: { kid: '../../../etc/passwd' } }), 'token.kid_invalid');
    await refused(await generic.sign({ aud: 'countersign', sub: 'x' }, { header: { kid: "1' OR '1'='1" } }), 'token.kid_invalid');
    expect(generic.fetches.jwks).toBe(fetched);
  });

  it('jku and x5u headers are ignored and never fetched', async () => {
    const attacker = await newSigningKey();
    const token = await generic.sign({ aud: 'countersign', sub: 'x' }, { key: attacker, header: { jku: evil.jwksUri, x5u: `${evil.origin}/cert.pem`, jwk: attacker.publicJwk } });
    await refused(token, 'token.kid_unknown');
    expect(evil.fetches).toEqual({ discovery: 0, jwks: 0, other: 0 });
  });

  it('expired by more than the skew, and nbf in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await generic.sign({ aud: 'countersign', sub: 'x', exp: now - 120 }), 'token.expired');
    await refused(await generic.sign({ aud: 'countersign', sub: 'x', nbf: now + 300 }), 'token.not_yet_valid');
  });

  it('iat in the future beyond the skew (a year ahead, and two minutes ahead)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await generic.sign({ aud: 'countersign', sub: 'x', iat: now + 365 * 86_400, exp: now + 366 * 86_400 }), 'token.issued_in_future');
    await refused(await generic.sign({ aud: 'countersign', sub: 'x', iat: now + 120 }), 'token.issued_in_future');
  });

  it('a token without exp', async () => {
    await refused(await generic.sign({ aud: 'countersign', sub: 'x' }, { expiresIn: null }), 'token.claim_missing');
  });

  it('a wrong iss, a trailing slash included, and a known issuer’s name on another issuer’s token', async () => {
    await refused(await generic.sign({ aud: 'countersign', sub: 'x' }, { iss: `${generic.issuer}/` }), 'token.issuer_unknown');
    await refused(await evil.sign({ aud: 'countersign', sub: 'x' }), 'token.issuer_unknown');
    await refused(await evil.sign({ aud: 'countersign', sub: 'x' }, { iss: generic.issuer }), 'token.kid_unknown');
  });

  it('a wrong or missing aud', async () => {
    await refused(await generic.sign({ aud: 'someone-else', sub: 'x' }), 'token.audience_invalid');
    await refused(await generic.sign({ sub: 'x' }), 'token.audience_invalid');
  });

  it('a GitHub token for a recreated repository: same name, another repository_id', async () => {
    await refused(await gh.sign({ ...GH_CLAIMS, repository_id: '222' }), 'github.repository_not_allowed');
    await refused(await gh.sign({ ...GH_CLAIMS, repository_owner_id: '10' }), 'github.repository_not_allowed');
    await refused(await gh.sign({ ...GH_CLAIMS, job_workflow_ref: 'acme/deployer/.github/workflows/evil.yml@refs/heads/main' }), 'github.workflow_not_allowed');
  });

  it('an Okta ID token used as a bearer token', async () => {
    await refused(await okta.sign({ aud: 'api://countersign', sub: '00u1alice', nonce: 'n-1', at_hash: 'abc', amr: ['pwd'], auth_time: 1, ver: 1 }), 'okta.id_token');
    await refused(await okta.sign({ aud: 'api://countersign', sub: '00u1alice', ver: 1 }), 'okta.not_access_token');
  });

  it('an agent token that names a configured human', async () => {
    await refused(await generic.sign({ aud: 'countersign', sub: 'alice' }), 'principal.kind_mismatch');
  });
});

describe('the issuer’s keys', () => {
  it('a burst of unknown kids costs at most one JWKS fetch per cooldown', async () => {
    const before = generic.fetches.jwks;
    const strangers = await Promise.all(Array.from({ length: 20 }, () => newSigningKey('ES256')));
    const results = await Promise.all(strangers.map(async (key) => withToken(await generic.sign({ aud: 'countersign', sub: 'x' }, { key }), '/v1/whoami')));
    expect(results.every((r) => r.status === 401)).toBe(true);
    expect(generic.fetches.jwks - before).toBeLessThanOrEqual(1);
  });
});

describe('key rotation at the issuer', () => {
  it('is picked up without a restart: a token with the new kid verifies once the cooldown has passed, the retired key no longer does', async () => {
    const idp = await startTestIssuer('/rotating');
    const g = await startTestGateway(`identity:
  jwks: { cooldownSeconds: 0.2 }
  issuers:
    - { issuer: ${idp.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
`);
    try {
      const old = idp.current;
      const who = (token: string) => fetch(`${g.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await who(await idp.sign({ aud: 'countersign', sub: 'bot' }))).toBe(200);
      await idp.rotate({ retire: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(await who(await idp.sign({ aud: 'countersign', sub: 'bot' }))).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      // The old key left the JWKS; a token it signs fails once the gateway's cache is refreshed by a fetch.
      expect(await who(await idp.sign({ aud: 'countersign', sub: 'bot' }, { key: old }))).toBe(401);
      expect(idp.fetches.discovery).toBe(1);
    } finally {
      await g.stop();
      await idp.close();
    }
  });
});
