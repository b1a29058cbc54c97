/**
 * Token shapes a workload or bearer token must be checked against, beyond
 * signature, issuer, audience and times: several audiences, `crit` headers,
 * a `typ` that says the JWT is something else than a credential (a logout
 * token, a security event, a DPoP proof), a kid two issuers share, and an
 * issuer that publishes a new key under a kid the gateway has cached. Real
 * parts: the gateway, token issuers on 127.0.0.1 serving discovery and a
 * JWKS, tokens signed with jose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';

let a: TestIssuer;
let b: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b')]);
  gw = await startTestGateway(`identity:
  jwks: { cooldownSeconds: 0.2 }
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b].map((s) => s?.close()));
});

const whoami = async (token: string) => {
  const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
};

/** 401, and the last auth.failed event names `reason`. */
async function refused(token: string, reason: string) {
  const res = await whoami(token);
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason });
  expect((await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').at(-1)?.data).toMatchObject({ reason });
}

describe('several audiences', () => {
  it('are taken when one is ours (with azp naming the party it was issued to), refused when none is', async () => {
    expect((await whoami(await a.sign({ aud: ['other-api', 'countersign'], azp: 'ci', sub: 'bot' }))).status).toBe(200);
    await refused(await a.sign({ aud: ['other-api', 'countersign-staging'], sub: 'bot' }), 'token.audience_invalid');
  });
});

describe('headers', () => {
  it('a crit header the gateway does not understand is refused (RFC 7515 §4.1.11)', async () => {
    // Signed by hand: jose will not sign an extension it does not know either.
    const now = Math.floor(Date.now() / 1000);
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'RS256', kid: a.current.kid, typ: 'JWT', crit: ['urn:example:must-check'], 'urn:example:must-check': true })}.${enc({ iss: a.issuer, aud: 'countersign', sub: 'bot', iat: now, exp: now + 300 })}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', a.current.privateKey as Parameters<typeof crypto.subtle.sign>[1], new TextEncoder().encode(input));
    await refused(`${input}.${Buffer.from(signature).toString('base64url')}`, 'token.malformed');
  });

  it('a typ that says the JWT is no credential (a logout token, a security event, a DPoP proof) is refused', async () => {
    for (const typ of ['logout+jwt', 'application/logout+jwt', 'secevent+jwt', 'dpop+jwt']) {
      await refused(await a.sign({ aud: 'countersign', sub: 'bot' }, { header: { typ } }), 'token.type_invalid');
    }
  });

  it('a back-channel logout token or another security event without such a typ is refused by its events claim', async () => {
    await refused(await a.sign({ aud: 'countersign', sub: 'bot', jti: 'j1', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }), 'token.type_invalid');
  });

  it('the typ of an access token or of a plain JWT is taken, as is none', async () => {
    for (const typ of ['at+jwt', 'application/at+jwt', 'JWT', 'jwt', undefined]) {
      expect((await whoami(await a.sign({ aud: 'countersign', sub: 'bot' }, { header: { typ } }))).status, String(typ)).toBe(200);
    }
  });
});

describe('kids', () => {
  it('a token naming issuer A, signed by issuer B’s key published under A’s kid, is refused', async () => {
    const shared = await b.replaceCurrent();
    const sameKid = { ...shared, kid: a.current.kid, publicJwk: { ...shared.publicJwk, kid: a.current.kid } };
    await refused(await b.sign({ aud: 'countersign', sub: 'bot' }, { key: sameKid, iss: a.issuer }), 'token.signature_invalid');
  });

  it('a new key under a cached kid verifies once the cooldown has passed, and the key it replaced no longer does', async () => {
    const old = a.current;
    expect((await whoami(await a.sign({ aud: 'countersign', sub: 'bot' }))).status).toBe(200);
    const fresh = await a.replaceCurrent();
    expect(fresh.kid).toBe(old.kid);
    await new Promise((r) => setTimeout(r, 300));
    expect((await whoami(await a.sign({ aud: 'countersign', sub: 'bot' }))).status).toBe(200);
    await refused(await a.sign({ aud: 'countersign', sub: 'bot' }, { key: old }), 'token.signature_invalid');
  });
});
