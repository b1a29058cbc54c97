/**
 * How long the gateway keeps an issuer's keys: a key the issuer took out of
 * its JWKS stops verifying once the cached set is `jwks.cacheMaxAgeSeconds`
 * old, and an issuer whose JWKS can no longer be fetched then has every token
 * refused (`token.jwks_unavailable`): a stale set is never used past its age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';

const CACHE_SECONDS = 1;

describe('the JWKS cache past jwks.cacheMaxAgeSeconds', () => {
  let gw: TestGateway;
  let rotating: TestIssuer;
  let failing: TestIssuer;

  beforeAll(async () => {
    [rotating, failing] = await Promise.all([startTestIssuer('/rot'), startTestIssuer('/down')]);
    gw = await startTestGateway(
      `identity:
  jwks: { cacheMaxAgeSeconds: ${CACHE_SECONDS} }
  issuers:
    - issuer: ${rotating.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
    - issuer: ${failing.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
      jwksUri: ${failing.jwksUri}
policy:
  default: deny
  rules: []
`,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await rotating?.close();
    await failing?.close().catch(() => {});
  });

  const whoami = async (token: string) => fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  const lastRefusal = async () => (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').at(-1)?.data['reason'];
  const pastCacheAge = () => new Promise((r) => setTimeout(r, CACHE_SECONDS * 1000 + 200));

  it('a key the issuer removed from its JWKS verifies nothing once the cached set is that old', async () => {
    const old = rotating.current;
    const token = await rotating.sign({ sub: 'wl-bot', aud: 'countersign' });
    expect((await whoami(token)).status).toBe(200);
    await rotating.rotate({ retire: true });
    await pastCacheAge();
    expect((await whoami(await rotating.sign({ sub: 'wl-bot', aud: 'countersign' }, { key: old }))).status).toBe(401);
    expect(await lastRefusal()).toBe('token.kid_unknown');
    expect((await whoami(await rotating.sign({ sub: 'wl-bot', aud: 'countersign' }))).status).toBe(200);
  });

  it('an issuer whose JWKS cannot be fetched any more has every token refused once the cached set is that old', async () => {
    const token = await failing.sign({ sub: 'wl-bot', aud: 'countersign' });
    expect((await whoami(token)).status).toBe(200);
    await failing.close();
    await pastCacheAge();
    expect((await whoami(token)).status).toBe(401);
    expect(await lastRefusal()).toBe('token.jwks_unavailable');
  });
});
