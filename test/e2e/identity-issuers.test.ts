/**
 * Two token issuers, each trusted for its own principals: a configured principal is named only by tokens of the
 * issuers it lists (`issuers:`), so issuer B cannot mint a token that speaks as an agent or a human configured for
 * issuer A, and with several issuers an unlisted configured principal is named by no token at all (fail closed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';

let a: TestIssuer;
let b: TestIssuer;
let people: TestIssuer;
let people2: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [a, b, people, people2] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b'), startTestIssuer('/people'), startTestIssuer('/people2')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${people.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }
    - { issuer: ${people2.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }
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
  await Promise.all([a, b, people, people2].map((s) => s?.close()));
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

  it('refuses, with several issuers of its kind, any token naming a configured principal that lists none (an API-key agent, a human)', async () => {
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

  it('refuses an agent token whose id reads as a configured principal’s (another case, a fullwidth letter, an invisible character)', async () => {
    // Issuer b may not name payments-bot; a card showing one of these would read as payments-bot all the same.
    // A configured human's email reads as her on every card too (`alice@example.com`, in any case or spelling).
    for (const sub of ['Payments-bot', '\uff50ayments-bot', 'payments-bot\u200b', 'ALICE', 'alice@example.com', 'Alice@EXAMPLE.com', 'alice@example.com.']) {
      expect((await whoami(await b.sign({ aud: 'countersign', sub }))).body.error, sub).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.id_confusable' });
    }
  });

  it('leaves unconfigured ids alone: any issuer’s token names its own agent', async () => {
    expect(await whoami(await b.sign({ aud: 'countersign', sub: 'b-worker' }))).toMatchObject({ status: 200, body: { id: 'b-worker', kind: 'agent' } });
  });
});

describe('a review given through a token counts only while its issuer may still name the reviewer', () => {
  // One store, two gateways in turn: on the second, frank is bound to another issuer (`issuers:`), as an operator
  // binds a human once the first issuer can no longer be trusted to name them. A review his first issuer's token gave
  // on the first gateway is then no more frank's than a new token of it would be.
  let dir: string;
  let second: TestGateway | undefined;
  let other: TestIssuer | undefined;
  afterAll(async () => {
    await second?.stop();
    await other?.close();
    if (dir) await releaseTestStore(join(dir, 'countersign.db'));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('frank approved through the people issuer; once he is bound to another, that approval no longer fills a place', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-issuer-rebound-'));
    other = await startTestIssuer('/other');
    const body = (issuers: string) => `identity:
  issuers:
${issuers}connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: "true", effect: approve, approvers: [{ groups: [sre], count: 2 }] }
`;
    const peopleIssuer = `    - { issuer: ${people.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }\n`;
    const otherIssuer = `    - { issuer: ${other.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }\n`;
    const frank = { id: 'frank', kind: 'human' as const, groups: ['sre'], email: 'frank@example.com' };
    const humans = DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined }));
    const keys: Record<string, string> = {};
    const db = join(dir, 'countersign.db');
    const first = await startTestGateway(await storeYaml(configYaml([...humans, frank], keys, body(peopleIssuer), db)), { dir, keys });
    let id: string;
    try {
      const held = await first.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/x' }, reason: 'rebound' } });
      expect(held.status).toBe(202);
      id = (held.body as { id: string }).id;
      const token = await people.sign({ aud: 'countersign', sub: 'frank' });
      const res = await fetch(`${first.url}/v1/requests/${id}/reviews`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ verdict: 'approve' }),
      });
      expect(res.status).toBe(200);
    } finally {
      await first.stop();
    }

    const keys2: Record<string, string> = {};
    // New API keys (keys2): only the review frank's token gave on the first gateway is carried over.
    second = await startTestGateway(await storeYaml(configYaml([...humans, { ...frank, issuers: [other.issuer] }], keys2, body(peopleIssuer + otherIssuer), db)), { dir, keys: keys2 });
    const gw2 = second;
    // The people issuer can no longer name frank at all.
    expect((await fetch(`${gw2.url}/v1/whoami`, { headers: { authorization: `Bearer ${await people.sign({ aud: 'countersign', sub: 'frank' })}` } })).status).toBe(401);
    expect((await gw2.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    // alice is one sre; frank's approval through the people issuer fills no place now.
    expect((await gw2.as('alice', `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending' });
    expect((await gw2.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => ((await gw2.as('alice', `/v1/requests/${id}`)).body.status !== 'pending' ? true : undefined));
  });
});

describe('one issuer of agents and one of humans', () => {
  // The common pair: a CI issuer for agents and an identity provider for people. Neither can name the other's kind
  // (its token is refused as the wrong kind), so each is the only issuer that could mint an id of its own kind.
  let agents: TestIssuer;
  let humans: TestIssuer;
  let pair: TestGateway;
  beforeAll(async () => {
    [agents, humans] = await Promise.all([startTestIssuer('/ci'), startTestIssuer('/idp')]);
    pair = await startTestGateway(
      `identity:
  issuers:
    - { issuer: ${agents.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${humans.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }
connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules: []
`,
      { principals: DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined })) },
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all([agents, humans].map((s) => s?.close()));
  });

  it('names a configured agent and a configured human by id, each through the one issuer of its kind, without issuers: listed', async () => {
    const ask = async (token: string) => {
      const res = await fetch(`${pair.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect(await ask(await agents.sign({ aud: 'countersign', sub: 'deploy-bot' }))).toMatchObject({ status: 200, body: { id: 'deploy-bot', kind: 'agent', actsFor: 'carol' } });
    expect(await ask(await humans.sign({ aud: 'countersign', sub: 'alice' }))).toMatchObject({ status: 200, body: { id: 'alice', kind: 'human', groups: ['sre'] } });
    // Across kinds, still refused as the wrong kind.
    expect((await ask(await agents.sign({ aud: 'countersign', sub: 'alice' }))).body.error.reason).toBe('principal.kind_mismatch');
    expect((await ask(await humans.sign({ aud: 'countersign', sub: 'deploy-bot' }))).body.error.reason).toBe('principal.kind_mismatch');
  });
});
