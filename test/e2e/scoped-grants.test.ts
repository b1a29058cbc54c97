/**
 * Scoped grants end to end, on two gateways sharing one store (SQLite file, or PostgreSQL under the postgres project)
 * with one frozen clock. A reviewer approves a held action with a grant of N uses: the next N actions of the same
 * shape (differing only in a `vary` path) run without review, each audited as a use; the next one is held. Revoked
 * (CLI) or expired, it approves nothing more. Attacks: another agent, the same agent acting for another human, input
 * outside `vary`, another connection or operation, other SQL, a grant one of two required approvers offered, an offer
 * beyond the caps or on a rule without `grant` (refused, nothing recorded), a policy without `grant` since, an agent
 * revoking; and many racing submissions on both gateways consume exactly N uses.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { getPage, postForm, signIn } from '../support/console.ts';
import { DEFAULT_PRINCIPALS, eventually, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { executeApproved } from '../../src/service/execute.ts';
import { runCli } from '../support/run-cli.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const principals = [...DEFAULT_PRINCIPALS, { id: 'gina', kind: 'human' as const, groups: [], roles: ['auditor' as const] }];

const db = await createTestDatabase();

const body = (idp: TestIssuer, url: string, withGrant = true) => `identity:
  issuers:
    - { issuer: ${idp.issuer}, audience: countersign, principal: { kind: agent, id: sub, actsFor: act.sub } }
connections:
  - { name: billing, kind: http, url: "${url}" }
  - { name: billing-eu, kind: http, url: "${url}" }
  - name: ledger
    kind: postgres
    url: "${db?.url}"
    preview: false
policy:
  default: deny
  rules:
    - id: refunds
      when: connection.name.startsWith("billing") && facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
${withGrant ? '      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }\n' : ''}    - id: payouts
      when: connection.name == "billing" && facts.http.path == "/payouts"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      grant: { maxUses: 3, maxDuration: 1h, vary: [body.amount] }
    - id: deletes
      when: connection.name == "billing" && facts.http.method == "DELETE"
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: ledger-writes
      when: connection.name == "ledger" && facts.writes
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [params] }
`;

let upstream: Upstream;
let idp: TestIssuer;
let shared: SharedGateway;
let a: TestGateway;
let b: TestGateway;
const clock = manualClock();

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: db?.url });
  await admin.connect();
  await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts VALUES (1, 10), (2, 20); CREATE TABLE notes (id int)');
  await admin.end();
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  idp = await startTestIssuer();
  shared = prepareSharedGateway({ principals });
  a = await shared.start(body(idp, upstream.url), { clock });
  b = await shared.start(body(idp, upstream.url), { clock });
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await shared?.remove();
  await upstream?.close();
  await idp?.close();
  await db?.drop();
});

type Input = Record<string, unknown>;
const refund = (amount: number, extra: Input = {}) => ({ method: 'POST', path: '/refunds', body: { amount, ...extra } });
const submit = (gw: TestGateway, who: string, input: Input, connection = 'billing') => gw.as(who, '/v1/actions', { body: { connection, input, reason: 'refund a double charge' } });
const approve = (who: string, id: string, grant?: { uses: number; for: string }) => a.as(who, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', ...(grant ? { grant } : {}) } });
const settled = (id: string) =>
  eventually(async () => {
    const r = (await a.as('gina', `/v1/requests/${id}`)).body;
    return ['succeeded', 'failed', 'denied'].includes(r.status) ? r : undefined;
  }, 15_000);
const events = async (type: string, grantId: string) =>
  ((await a.as('gina', `/v1/audit/events?type=${type}&limit=1000`)).body.events as { requestId: string; data: Record<string, any> }[]).filter((e) => e.data['grantId'] === grantId);

/** A held request of `who`, approved by alice with a grant; returns the grant id once the request ran. */
async function granted(who: string, input: Input, grant: { uses: number; for: string }, connection = 'billing', bearer?: (i: Input) => Promise<{ status: number; body: any }>): Promise<string> {
  const held = bearer ? await bearer(input) : await submit(a, who, input, connection);
  expect(held.status, JSON.stringify(held.body)).toBe(202);
  const ok = await approve('alice', held.body.id, grant);
  expect(ok.status).toBe(200);
  expect(ok.body.grant).toMatchObject({ uses: grant.uses });
  expect((await settled(held.body.id)).status).toBe('succeeded');
  return ok.body.grant.id as string;
}

it('approves the next N actions of the shape (vary paths may differ), audits each use, then holds; revoked by CLI, holds', async () => {
  const grantId = await granted('deploy-bot', refund(10), { uses: 2, for: '30m' });
  const created = await events('grant.created', grantId);
  expect(created).toHaveLength(1);
  expect(created[0]!.data).toMatchObject({ by: ['alice'], uses: 2, vary: ['body.amount'], shape: expect.stringMatching(/^sha256:/) });

  const first = await submit(a, 'deploy-bot', refund(11));
  const second = await submit(b, 'deploy-bot', refund(12));
  expect([first.status, first.body.status, first.body.grantedBy]).toEqual([200, 'succeeded', { grantId, use: 1, of: 2 }]);
  expect([second.status, second.body.status, second.body.grantedBy]).toEqual([200, 'succeeded', { grantId, use: 2, of: 2 }]);
  const third = await submit(a, 'deploy-bot', refund(13));
  expect([third.status, third.body.status, third.body.grantedBy]).toEqual([202, 'pending', undefined]);
  expect((await events('grant.used', grantId)).map((e) => [e.requestId, e.data['use'], e.data['of']])).toEqual([
    [first.body.id, 1, 2],
    [second.body.id, 2, 2],
  ]);
  expect(upstream.calls.filter((c) => c.url === '/refunds' && [11, 12].includes(JSON.parse(c.body).amount))).toHaveLength(2);
  expect(upstream.calls.filter((c) => JSON.parse(c.body || '{}').amount === 13)).toHaveLength(0);

  // A second grant on the held third: revoked with the CLI by the reviewer who gave it, it approves nothing more.
  const cli = (args: string[]) => runCli({ url: a.url, key: a.keys['bob']!, credentials: join(shared.dir, 'none.json') }).command(args).done;
  const ok = await cli(['requests', 'approve', third.body.id, '--grant-uses', '3', '--grant-for', '30m', '--json']);
  expect(ok.code).toBe(0);
  const second_ = JSON.parse(ok.stdout).grant.id as string;
  await settled(third.body.id);
  const shownByCli = await cli(['requests', 'show', third.body.id]);
  expect(shownByCli.stdout).toContain(`grant       ${second_}: the next 3 of its shape`);
  const listed = await cli(['grants', 'list', '--active']);
  expect(listed.stdout).toContain(second_);
  const revoked = await cli(['grants', 'revoke', second_]);
  expect(revoked.code).toBe(0);
  const cliOut = revoked;
  expect(cliOut.stdout).toContain(`Revoked ${second_}`);
  const after = await submit(b, 'deploy-bot', refund(14));
  expect([after.status, after.body.status]).toEqual([202, 'pending']);
  expect((await events('grant.revoked', second_)).map((e) => e.data['by'])).toEqual(['bob']);
  const shown = await a.as('bob', `/v1/grants`);
  expect((shown.body.grants as { id: string; status: string }[]).find((g) => g.id === second_)?.status).toBe('revoked');
}, 60_000);

it('holds another agent, the same agent for another human, input outside vary, another connection, operation or SQL', async () => {
  const grantId = await granted('deploy-bot', refund(20, { note: 'order 7' }), { uses: 5, for: '1h' });
  const held = async (r: Promise<{ status: number; body: any }>) => {
    const res = await r;
    expect([res.status, res.body.status, res.body.grantedBy]).toEqual([202, 'pending', undefined]);
  };
  await held(submit(a, 'other-bot', refund(21, { note: 'order 7' })));
  await held(submit(a, 'deploy-bot', refund(21, { note: 'order 8' })));
  await held(submit(a, 'deploy-bot', refund(21, { note: 'order 7' }), 'billing-eu'));
  await held(submit(a, 'deploy-bot', { method: 'PUT', path: '/refunds', body: { amount: 21, note: 'order 7' } }));
  // Still good for its own shape.
  expect((await submit(b, 'deploy-bot', refund(22, { note: 'order 7' }))).body.grantedBy).toEqual({ grantId, use: 1, of: 5 });

  // A token's agent acting for dave; the same agent acting for bob is another requester.
  const as = (actsFor: string) => async (input: Input) => {
    // Issued at the gateways' frozen time: by the real clock the file may have run longer than the clock skew by now.
    const iat = Math.floor(clock.now().getTime() / 1000);
    const token = await idp.sign({ sub: 'agent-7', aud: 'countersign', act: { sub: actsFor }, iat, exp: iat + 300 });
    const res = await fetch(`${a.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ connection: 'billing', input, reason: 'refund' }) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const tokenGrant = await granted('agent-7', refund(30), { uses: 5, for: '1h' }, 'billing', as('dave'));
  await held(as('bob')(refund(31)));
  expect((await as('dave')(refund(32))).body.grantedBy).toEqual({ grantId: tokenGrant, use: 1, of: 5 });

  // SQL: params vary; other text (other facts, another table) does not.
  const ledger = await granted('deploy-bot', { sql: 'UPDATE accounts SET balance = $1 WHERE id = 1', params: [11] }, { uses: 5, for: '1h' }, 'ledger');
  const same = await submit(a, 'deploy-bot', { sql: 'UPDATE accounts SET balance = $1 WHERE id = 1', params: [12] }, 'ledger');
  expect([same.status, same.body.grantedBy]).toEqual([200, { grantId: ledger, use: 1, of: 5 }]);
  await held(submit(a, 'deploy-bot', { sql: 'UPDATE accounts SET balance = $1 WHERE id = 2', params: [12] }, 'ledger'));
  await held(submit(a, 'deploy-bot', { sql: 'INSERT INTO notes VALUES ($1)', params: [1] }, 'ledger'));
}, 60_000);

it('makes no grant unless every counted approval offered one; refuses offers beyond the caps or without grant, recording nothing', async () => {
  const payout = { method: 'POST', path: '/payouts', body: { amount: 5 } };
  const held = await submit(a, 'deploy-bot', payout);
  // Beyond the caps (3 uses, 1h) or on a deny: refused, and the review is not counted.
  for (const grant of [{ uses: 4, for: '10m' }, { uses: 1, for: '2h' }, { uses: 0, for: '10m' }]) {
    const r = await approve('alice', held.body.id, grant);
    expect([r.status, r.body.error?.code]).toEqual([403, 'GRANT_NOT_ALLOWED']);
  }
  const deny = await a.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'deny', grant: { uses: 1, for: '10m' } } });
  expect([deny.status, deny.body.error?.code]).toEqual([403, 'GRANT_NOT_ALLOWED']);
  const still = await a.as('gina', `/v1/requests/${held.body.id}`);
  expect([still.body.status, still.body.reviews]).toEqual(['pending', []]);
  // Two approvals needed, only alice offers a grant: approved, no grant.
  expect((await approve('alice', held.body.id, { uses: 2, for: '10m' })).body.status).toBe('pending');
  const done = await approve('bob', held.body.id);
  expect(done.body.status).not.toBe('pending');
  expect(done.body.grant).toBeUndefined();
  expect((await a.as('gina', `/v1/grants?request=${held.body.id}`)).body.grants).toEqual([]);
  expect((await submit(a, 'deploy-bot', { ...payout, body: { amount: 6 } })).status).toBe(202);

  // A rule without grant: refused; nothing recorded.
  const del = await submit(a, 'deploy-bot', { method: 'DELETE', path: '/refunds/1' });
  const refused = await approve('alice', del.body.id, { uses: 1, for: '10m' });
  expect([refused.status, refused.body.error?.code]).toEqual([403, 'GRANT_NOT_ALLOWED']);
  expect((await a.as('gina', `/v1/requests/${del.body.id}`)).body.reviews).toEqual([]);
});

it('never lets an agent revoke or see others’ grants; the requester side may not revoke either', async () => {
  const grantId = await granted('deploy-bot', refund(40, { batch: 'agents' }), { uses: 2, for: '1h' });
  const agent = await a.as('deploy-bot', `/v1/grants/${grantId}/revoke`, { body: {} });
  expect([agent.status, agent.body.error?.code]).toEqual([403, 'GRANT_NOT_ALLOWED']);
  expect((await a.as('deploy-bot', '/v1/grants')).body.grants.map((g: { id: string }) => g.id)).toContain(grantId);
  expect((await a.as('other-bot', '/v1/grants')).body.grants.map((g: { id: string }) => g.id)).not.toContain(grantId);
  const otherBot = await a.as('other-bot', `/v1/grants/${grantId}/revoke`, { body: {} });
  expect(otherBot.status).toBe(404);
  // carol is the human deploy-bot acts for: she sees it, may not revoke it.
  const carol = await a.as('carol', `/v1/grants/${grantId}/revoke`, { body: {} });
  expect([carol.status, carol.body.error?.code]).toEqual([403, 'GRANT_NOT_ALLOWED']);
  // The approval an agent cannot give, it cannot give with a grant either.
  const held = await submit(a, 'deploy-bot', refund(41, { batch: 'other' }));
  const agentReview = await approve('other-bot', held.body.id, { uses: 1, for: '10m' });
  expect(agentReview.status).toBe(403);
  expect((await events('grant.revoked', grantId))).toEqual([]);
  expect((await submit(a, 'deploy-bot', refund(42, { batch: 'agents' }))).body.grantedBy).toEqual({ grantId, use: 1, of: 2 });
});

it('consumes exactly N uses when many same-shape submissions race on both gateways', async () => {
  const grantId = await granted('deploy-bot', refund(100, { batch: 'race' }), { uses: 3, for: '1h' });
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(i % 2 ? a : b, 'deploy-bot', refund(101 + i, { batch: 'race' }))));
  const byGrant = results.filter((r) => r.body.grantedBy?.grantId === grantId);
  expect(byGrant).toHaveLength(3);
  expect(byGrant.map((r) => r.body.grantedBy.use).sort()).toEqual([1, 2, 3]);
  expect(results.filter((r) => r.status === 202 && r.body.status === 'pending')).toHaveLength(9);
  expect((await events('grant.used', grantId))).toHaveLength(3);
  const ran = upstream.calls.filter((c) => c.url === '/refunds' && JSON.parse(c.body).batch === 'race' && JSON.parse(c.body).amount > 100);
  expect(ran).toHaveLength(3);
}, 60_000);

it('offers a grant on the console review form only where the rules permit, and lists and revokes it on /grants', async () => {
  const alice = await signIn(a.url, a.keys['alice']!);
  const text = async (path: string) => (await (await getPage(a.url, alice, path)).text()).replaceAll('<wbr>', '');
  const del = await submit(a, 'deploy-bot', { method: 'DELETE', path: '/refunds/9' });
  expect(await text(`/requests/${del.body.id}`)).not.toContain('grant_uses');
  const held = await submit(a, 'deploy-bot', refund(70, { batch: 'console' }));
  const form = await text(`/requests/${held.body.id}`);
  expect(form).toContain('name="grant_uses" type="number" min="1" max="5"');
  const posted = await postForm(a.url, alice, `/requests/${held.body.id}/review`, { _csrf: alice.csrf, verdict: 'approve', comment: '', digest: held.body.digest, grant_uses: '2', grant_minutes: '10' });
  expect(posted.status).toBe(303);
  await settled(held.body.id);
  const grantId = (await a.as('alice', `/v1/requests/${held.body.id}`)).body.grant.id as string;
  expect(await text(`/requests/${held.body.id}`)).toContain(`granted the next <strong>2</strong> action(s)`);
  const used = await submit(a, 'deploy-bot', refund(71, { batch: 'console' }));
  expect(await text(`/requests/${used.body.id}`)).toContain(`Approved by grant <code class="ident">${grantId}</code>, use <strong>1</strong> of 2`);

  const list = await text('/grants');
  expect(list).toContain(`action="/grants/${grantId}/revoke"`);
  expect(list).toContain('<a href="/grants" aria-current="page">Grants</a>');
  // carol (the human deploy-bot acts for) sees it, without a Revoke button; a form she sends anyway is refused.
  const carol = await signIn(a.url, a.keys['carol']!);
  const hers = (await (await getPage(a.url, carol, '/grants')).text()).replaceAll('<wbr>', '');
  expect(hers).toContain(grantId);
  expect(hers).not.toContain(`action="/grants/${grantId}/revoke"`);
  const refused = await postForm(a.url, carol, `/grants/${grantId}/revoke`, { _csrf: carol.csrf });
  expect(refused.status).toBe(403);
  expect(await refused.text()).toContain('GRANT_NOT_ALLOWED');

  const revoked = await postForm(a.url, alice, `/grants/${grantId}/revoke`, { _csrf: alice.csrf });
  expect([revoked.status, revoked.headers.get('location')]).toEqual([303, '/grants?done=revoked']);
  expect(await text('/grants?done=revoked')).toContain('The grant is revoked');
  expect((await submit(a, 'deploy-bot', refund(72, { batch: 'console' }))).status).toBe(202);
  expect((await events('grant.revoked', grantId)).map((e) => [e.data['by'], e.data['via']])).toEqual([['alice', 'console']]);
});

describe('once time passed or the policy changed', () => {
  it('holds after the grant expires (frozen clock moved past it)', async () => {
    const grantId = await granted('deploy-bot', refund(50, { batch: 'expiry' }), { uses: 5, for: '10m' });
    expect((await submit(a, 'deploy-bot', refund(51, { batch: 'expiry' }))).body.grantedBy).toEqual({ grantId, use: 1, of: 5 });
    clock.advance(10 * 60_000 + 1000);
    const late = await submit(b, 'deploy-bot', refund(52, { batch: 'expiry' }));
    expect([late.status, late.body.status]).toEqual([202, 'pending']);
    expect((await a.as('gina', '/v1/grants')).body.grants.find((g: { id: string }) => g.id === grantId)?.status).toBe('expired');
  });

  it('is no longer honoured by a policy whose rule no longer carries grant', async () => {
    const grantId = await granted('deploy-bot', refund(60, { batch: 'reload' }), { uses: 5, for: '1h' });
    const used = await submit(a, 'deploy-bot', refund(62, { batch: 'reload' }));
    expect(used.body.grantedBy).toEqual({ grantId, use: 1, of: 5 });
    await b.stop();
    b = await shared.start(body(idp, upstream.url, false), { clock });
    const held = await submit(b, 'deploy-bot', refund(61, { batch: 'reload' }));
    expect([held.status, held.body.status, held.body.grantedBy]).toEqual([202, 'pending', undefined]);
    // The gateway that still runs the old policy no longer decides: the policy in force is the last one started.
    const stale = await submit(a, 'deploy-bot', refund(63, { batch: 'reload' }));
    expect([stale.status, stale.body.error?.code]).toEqual([503, 'POLICY_NOT_IN_FORCE']);

    // At run time the policy in force is asked again: a request a grant approved, claimed by a gateway whose policy
    // no longer grants that shape, goes back to reviewers; one whose policy still does runs, once.
    const stored = (await a.deps.store.getRequest(used.body.id))!;
    const approvedCopy = (id: string) => ({ ...stored, id, status: 'approved' as const, result: null, error: null, runDeadline: null, version: 1 });
    const [onB, onA] = [approvedCopy(`${stored.id}_b`), approvedCopy(`${stored.id}_a`)];
    await a.deps.store.insertRequest(onB, []);
    const requeued = await executeApproved(b.deps, onB.id);
    expect([requeued.status, requeued.grantedBy]).toEqual(['pending', undefined]);
    const why = (await a.deps.store.searchAudit({ requestId: onB.id, types: ['request.requeued'] }))[0];
    expect(why?.data).toMatchObject({ grantNoLongerStands: grantId });
    // B started again with the policy that grants: A's config, the same again, is the one in force.
    await b.stop();
    b = await shared.start(body(idp, upstream.url), { clock });
    await a.deps.store.insertRequest(onA, []);
    const ran = await executeApproved(a.deps, onA.id);
    expect([ran.status, ran.grantedBy?.grantId]).toEqual(['succeeded', grantId]);
    expect((await a.deps.store.searchAudit({ requestId: onA.id, types: ['request.executing'] }))[0]?.data).toMatchObject({ by: 'grant' });
  });
});
