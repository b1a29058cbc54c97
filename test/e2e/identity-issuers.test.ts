/**
 * Two token issuers, each trusted for its own principals: a configured principal is named only by tokens of the
 * issuers it lists (`issuers:`), so issuer B cannot mint a token that speaks as an agent or a human configured for
 * issuer A, and with several issuers an unlisted configured principal is named by no token at all (fail closed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';

let a: TestIssuer;
let b: TestIssuer;
let people: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [a, b, people] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b'), startTestIssuer('/people')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${people.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }
connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules: []
`,
    {
      principals: [
        ...DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined })),
        { id: 'payments-bot', kind: 'agent', actsFor: 'alice', groups: ['payments'], issuers: [a.issuer] },
        { id: 'frank', kind: 'human', groups: ['sre'], email: 'frank@example.com', issuers: [people.issuer] },
      ],
    },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b, people].map((s) => s?.close()));
});

const whoami = async (token: string) => {
  const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
};

describe('a configured principal is named only by the issuers it lists', () => {
  it('takes a token of its issuer as the configured agent', async () => {
    const token = await a.sign({ aud: 'countersign', sub: 'payments-bot' });
    expect(await whoami(token)).toMatchObject({ status: 200, body: { id: 'payments-bot', kind: 'agent', actsFor: 'alice', groups: ['payments'] } });
  });

  it('refuses another issuer’s token naming it (401 principal.issuer_not_allowed, recorded with that issuer)', async () => {
    const before = (await storedAudit(gw.deps.store)).length;
    const forged = await whoami(await b.sign({ aud: 'countersign', sub: 'payments-bot' }));
    expect(forged.status).toBe(401);
    expect(forged.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.issuer_not_allowed' });
    const failed = (await storedAudit(gw.deps.store)).slice(before).filter((e) => e.type === 'auth.failed');
    expect(failed).toMatchObject([{ data: { reason: 'principal.issuer_not_allowed', issuer: b.issuer } }]);
  });

  it('refuses, with several issuers, any token naming a configured principal that lists none (an API-key agent, a human)', async () => {
    for (const token of [await a.sign({ aud: 'countersign', sub: 'deploy-bot' }), await b.sign({ aud: 'countersign', sub: 'other-bot' })]) {
      expect((await whoami(token)).body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.issuer_not_allowed' });
    }
    const alice = await people.sign({ aud: 'countersign', sub: 'alice' });
    expect((await whoami(alice)).body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.issuer_not_allowed' });
    // The API key of the same agent still works: only tokens are bound to issuers.
    expect((await gw.as('deploy-bot', '/v1/whoami')).body).toMatchObject({ id: 'deploy-bot' });
  });

  it('binds a human by id and by verified email alike: her issuer’s token is her, another’s is refused', async () => {
    const mine = await people.sign({ aud: 'countersign', sub: 'frank' });
    expect(await whoami(mine)).toMatchObject({ status: 200, body: { id: 'frank', kind: 'human', groups: ['sre'] } });
    const byEmail = await people.sign({ aud: 'countersign', sub: '00u-frank', email: 'frank@example.com', email_verified: true });
    expect(await whoami(byEmail)).toMatchObject({ status: 200, body: { id: 'frank' } });
    // An agent issuer cannot name her either (it would be refused as the wrong kind first).
    expect((await whoami(await b.sign({ aud: 'countersign', sub: 'frank' }))).body.error.reason).toBe('principal.kind_mismatch');
  });

  it('refuses a human token whose id reads as a configured human’s (another case, an invisible character) without her email', async () => {
    for (const sub of ['Frank', 'ALICE', 'bob\u200b']) {
      expect((await whoami(await people.sign({ aud: 'countersign', sub }))).body.error, sub).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.id_confusable' });
    }
  });

  it('leaves unconfigured ids alone: any issuer’s token names its own agent', async () => {
    expect(await whoami(await b.sign({ aud: 'countersign', sub: 'b-worker' }))).toMatchObject({ status: 200, body: { id: 'b-worker', kind: 'agent' } });
  });
});
