/**
 * A group an identity provider's token granted through the issuer's `groupMap` counts, when approvals are counted,
 * only while the mapping in force still grants it. An approval given while `idp-sre` mapped to `sre` filled an sre
 * place; once a restart takes that mapping away (the provider group was too wide, or is anyone's to join), the
 * approval is worth what a new token of the same person would be: no sre place, as a console session or a Slack
 * click of theirs no longer is (identity-group-map-change). Nor does a grant that approval gave approve anything
 * more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit, storedReviewers } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let people: TestIssuer;
let upstream: Upstream;
const dirs: string[] = [];
const running: TestGateway[] = [];

beforeAll(async () => {
  people = await startTestIssuer('/people');
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(running.map((g) => g.stop()));
  await Promise.all([people?.close(), upstream?.close()]);
  for (const d of dirs) {
    await releaseTestStore(join(d, 'countersign.db'));
    rmSync(d, { recursive: true, force: true });
  }
});

const body = (groupMap: string) => `identity:
  issuers:
    - issuer: ${people.issuer}
      audience: countersign
      principal: { kind: human, id: sub, email: email, groups: groups }
      groupMap: ${groupMap}
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: 'facts.http.path.startsWith("/two")', effect: approve, approvers: [{ groups: [sre], count: 2 }] }
    - id: one-sre
      when: 'facts.http.path.startsWith("/one")'
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h }
`;

const humans = [...DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined })), { id: 'frank', kind: 'human' as const, groups: [], email: 'frank@example.com' }];

/** A gateway on a fresh store with `groupMap`, and a restart of it on the same store with another. */
async function gateway(groupMap: string): Promise<{ gw: () => TestGateway; restart: (groupMap: string) => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-group-map-review-'));
  dirs.push(dir);
  const keys: Record<string, string> = {};
  const db = join(dir, 'countersign.db');
  const start = async (map: string) => {
    const gw = await startTestGateway(await storeYaml(configYaml(humans, keys, body(map), db)), { dir, keys });
    running.push(gw);
    return gw;
  };
  let current = await start(groupMap);
  return {
    gw: () => current,
    async restart(map) {
      await current.stop();
      running.splice(running.indexOf(current), 1);
      current = await start(map);
    },
  };
}

const tokenOf = (sub: string) => people.sign({ aud: 'countersign', sub, email: `${sub}@example.com`, email_verified: true, groups: ['idp-sre'] });

async function withToken(gw: TestGateway, sub: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${await tokenOf(sub)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function hold(gw: TestGateway, path: string): Promise<string> {
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path }, reason: 'group map' } });
  expect(held.status, JSON.stringify(held.body)).toBe(202);
  return held.body.id as string;
}

const calls = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;

it('an approval whose sre came from a mapping since taken away fills no sre place: held for another approver', async () => {
  const g = await gateway('{ idp-sre: [sre] }');
  // zoe is known only through the issuer; frank is configured, in sre only by the issuer's groups.
  const ids: string[] = [];
  for (const sub of ['zoe', 'frank']) {
    const id = await hold(g.gw(), `/two/${sub}`);
    ids.push(id);
    const res = await withToken(g.gw(), sub, `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('pending');
  }
  await g.restart('{ idp-other: [sre] }');
  for (const id of ids) {
    expect((await g.gw().as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    // alice is one sre; the approval whose sre the mapping no longer grants fills no place now.
    expect((await g.gw().as('alice', `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending' });
    expect((await storedReviewers(g.gw().deps.store, id)).length).toBe(2);
  }
  // A second configured sre completes it.
  expect((await g.gw().as('bob', `/v1/requests/${ids[0]}/reviews`, { body: { verdict: 'approve' } })).body.status).toMatch(/approved|executing|succeeded/);
});

it('a grant made by such an approval approves nothing more once the mapping is gone: the next action of its shape is held', async () => {
  const g = await gateway('{ idp-sre: [sre] }');
  const granted = await hold(g.gw(), '/one/grant');
  const gave = await withToken(g.gw(), 'zoe', `/v1/requests/${granted}/reviews`, { verdict: 'approve', grant: { uses: 3, for: '1h' } });
  expect(gave.status, JSON.stringify(gave.body)).toBe(200);
  await eventually(async () => (calls('/one/grant') === 1 ? true : undefined));
  // Under the same mapping the grant approves the next action of its shape: it works.
  const used = await g.gw().as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/one/grant' }, reason: 'group map' } });
  expect(used.body.status, JSON.stringify(used.body)).toBe('succeeded');
  await g.restart('{}');
  // zoe's grant stands in for her approval, which fills no sre place now: held, never approved by it.
  const next = await g.gw().as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/one/grant' }, reason: 'group map' } });
  expect(next.status, JSON.stringify(next.body)).toBe(202);
  expect(next.body.status).toBe('pending');
  expect(calls('/one/grant')).toBe(2);
  expect((await storedAudit(g.gw().deps.store, next.body.id)).map((e) => e.type)).not.toContain('grant.used');
});
