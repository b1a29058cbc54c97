/**
 * A person's access token names the application it was issued through. An
 * agent that holds an application of its own at the people's identity
 * provider sends a reviewer a sign-in link for that application (a phishing
 * link on the real provider, which signs her in without a password when she
 * already is): its callback gets a code, its secret turns the code into the
 * reviewer's access token for Countersign. The gateway takes a person's
 * token only through the applications its configuration names: at the
 * sign-in provider none by default (the CLI gets a credential of the gateway;
 * the device grant's client only with identity.login.cli.deviceCode), or the
 * issuer's `clients:`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const AGENT_APP = { clientId: 'deploy-bot-web', clientSecret: 'deploy-bot-web-secret-0123456789abcdef', redirectUris: ['http://127.0.0.1:9/agent/callback'] };

let upstream: Upstream;
let op: TestOidcProvider;
let scripts: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  scripts = await startTestIssuer('/scripts');
  gw = await startTestGateway(`identity:
  issuers:
    - issuer: ${op.issuer}
      audience: ${op.audience}
      principal: { kind: human, id: email, groups: groups, email: email }
    - issuer: ${scripts.issuer}
      jwksUri: ${scripts.jwksUri}
      audience: countersign
      principal: { kind: human, id: sub }
      clients: [release-scripts, on-call-tool]
${op.loginYaml()}    cli: { clientId: ${op.cliClientId}, scopes: [openid, email, groups], resource: ${op.resource} }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: deploys
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: { bob: { email: 'bob@example.com' } }, otherClients: [AGENT_APP] });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([op?.close(), scripts?.close(), upstream?.close()]);
});

/** What the agent does with the code its callback received: the token request, with its own secret. */
async function agentTokenFor(reviewer: string): Promise<string> {
  const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string; token_endpoint: string };
  const verifier = randomBytes(32).toString('base64url');
  const link = new URL(discovery.authorization_endpoint);
  link.search = new URLSearchParams({
    client_id: AGENT_APP.clientId,
    response_type: 'code',
    redirect_uri: AGENT_APP.redirectUris[0]!,
    scope: 'openid email',
    resource: op.resource,
    state: 'phish',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  // The reviewer opens the link: the provider's own pages, her own login.
  const atCallback = (u: string) => u.startsWith(AGENT_APP.redirectUris[0]!);
  const browser = new HttpBrowser();
  let page = await browser.follow(link.href, {}, atCallback);
  for (let i = 0; i < 4 && !atCallback(page.url); i++) {
    const fields = formsOf(page.html)[0]?.fields;
    if (!fields) throw new Error(`${page.status} ${page.url}: ${page.html.slice(0, 300)}`);
    page = await browser.submit(page, 'login' in fields ? { login: reviewer, password: 'any' } : {}, { stop: atCallback });
  }
  const code = new URL(page.url).searchParams.get('code');
  expect(code, page.url).toBeTruthy();
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${AGENT_APP.clientId}:${AGENT_APP.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: AGENT_APP.redirectUris[0]!, code_verifier: verifier, resource: op.resource }).toString(),
  });
  const tokens = (await res.json()) as { access_token?: string };
  expect(res.status, JSON.stringify(tokens)).toBe(200);
  return tokens.access_token!;
}

describe('a reviewer’s token issued through an application the gateway does not name', () => {
  it('is refused 401 token.client_not_allowed: the agent that obtained it approves nothing', async () => {
    const submitted = await fetch(`${gw.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path: '/deploy', body: {} }, reason: 'release' }),
    });
    const { id } = (await submitted.json()) as { id: string };
    expect(submitted.status).toBe(202);

    const token = await agentTokenFor('bob');
    // The token is the provider's genuine word about bob, for Countersign's audience, through the agent's application.
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: op.issuer, aud: op.audience, sub: 'bob', client_id: AGENT_APP.clientId, email: 'bob@example.com' });

    const res = await fetch(`${gw.url}/v1/requests/${id}/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ verdict: 'approve', comment: 'lgtm' }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(401);
    expect(body.error.code).toBe('UNAUTHENTICATED');
    expect(body.error.message).toContain('token.client_not_allowed');
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    const events = await storedAudit(gw.deps.store);
    expect(events.filter((e) => e.type === 'review.recorded' && e.requestId === id)).toHaveLength(0);
    const failed = events.filter((e) => e.type === 'auth.failed').at(-1)!;
    expect(failed.data).toMatchObject({ reason: 'token.client_not_allowed', issuer: op.issuer });
    expect(JSON.stringify(failed)).not.toContain(token);
    expect(upstream.calls).toHaveLength(0);
  }, 60_000);
});

describe('an issuer’s clients:', () => {
  const whoami = async (token: string) => {
    const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { id?: string; error?: { message: string } } };
  };

  it('takes a person’s token issued through a listed application, under any of the claims that name one', async () => {
    const erin = { sub: 'erin', aud: 'countersign', email: 'erin@example.com', email_verified: true };
    expect(await whoami(await scripts.sign({ ...erin, client_id: 'release-scripts' }))).toMatchObject({ status: 200, body: { id: 'erin@example.com' } });
    expect(await whoami(await scripts.sign({ ...erin, azp: 'on-call-tool' }))).toMatchObject({ status: 200, body: { id: 'erin@example.com' } });
  });

  it('refuses one issued through another application, or naming none (401 token.client_not_allowed)', async () => {
    for (const claims of [{ azp: 'deploy-bot-web' }, { client_id: 'release-scripts', azp: 'deploy-bot-web' }, {}]) {
      const res = await whoami(await scripts.sign({ sub: 'erin', aud: 'countersign', ...claims }));
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(res.body.error?.message).toContain('token.client_not_allowed');
    }
  });
});
