/**
 * A request runs only for a requester the configuration in force still knows. An agent whose key leaked is taken
 * out of `principals:`, or has that key rotated out of its `apiKeys` (or the issuer that minted its tokens is taken
 * out of `identity.issuers`): what it asked for before is still in every reviewer's inbox, and an approval given
 * afterwards — by someone who never heard of the removal — must not run it with the gateway's credentials. The
 * check before running denies it REQUESTER_NOT_CONFIGURED, audited, and the upstream is never called; an agent still
 * configured, with the key it asked with, runs as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let workloads: TestIssuer;
let upstream: Upstream;
const dirs: string[] = [];
const running: TestGateway[] = [];

beforeAll(async () => {
  workloads = await startTestIssuer('/workloads');
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(running.map((g) => g.stop()));
  await Promise.all([workloads?.close(), upstream?.close()]);
  for (const d of dirs) {
    await releaseTestStore(join(d, 'countersign.db'));
    rmSync(d, { recursive: true, force: true });
  }
});

const body = (withIssuer: boolean) => `${
  withIssuer
    ? `identity:
  issuers:
    - { issuer: ${workloads.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
`
    : ''
}connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: one-sre, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`;

type Principals = typeof DEFAULT_PRINCIPALS;

/**
 * A gateway on a fresh store, and a restart of it on the same store with other principals or without the issuer.
 * A restart keeps every principal's API key but those of `rotate`, which get a new one in place of the old.
 */
async function gateway(): Promise<{ gw: () => TestGateway; restart: (principals: Principals, withIssuer: boolean, rotate?: string[]) => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-requester-removed-'));
  dirs.push(dir);
  const keys: Record<string, string> = {};
  const db = join(dir, 'countersign.db');
  const start = async (principals: Principals, withIssuer: boolean, rotate?: string[]) => {
    for (const id of rotate ?? []) delete keys[id];
    const gw = await startTestGateway(await storeYaml(configYaml(principals, keys, body(withIssuer), db)), { dir, keys });
    running.push(gw);
    return gw;
  };
  let current = await start(DEFAULT_PRINCIPALS, true);
  return {
    gw: () => current,
    async restart(principals, withIssuer, rotate = []) {
      await current.stop();
      running.splice(running.indexOf(current), 1);
      current = await start(principals, withIssuer, rotate);
    },
  };
}

const calls = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;
const input = (path: string) => ({ connection: 'ops-api', input: { method: 'POST', path }, reason: 'requester removed' });

/** Approves as alice and waits until the request settles; returns it. */
async function approveAndSettle(gw: TestGateway, id: string): Promise<any> {
  const res = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return eventually(async () => {
    const r = (await gw.as('alice', `/v1/requests/${id}`)).body;
    return ['succeeded', 'failed', 'denied'].includes(r.status) ? r : undefined;
  });
}

it('an agent taken out of principals: its held request, approved afterwards, is denied REQUESTER_NOT_CONFIGURED and never runs', async () => {
  const g = await gateway();
  const held = await g.gw().as('deploy-bot', '/v1/actions', { body: input('/removed') });
  expect(held.status).toBe(202);
  const kept = await g.gw().as('other-bot', '/v1/actions', { body: input('/kept') });
  expect(kept.status).toBe(202);
  await g.restart(DEFAULT_PRINCIPALS.filter((p) => p.id !== 'deploy-bot'), true);

  const settled = await approveAndSettle(g.gw(), held.body.id);
  expect(settled).toMatchObject({ status: 'denied', error: { code: 'REQUESTER_NOT_CONFIGURED' } });
  expect(calls('/removed')).toBe(0);
  const denied = (await storedAudit(g.gw().deps.store, held.body.id)).find((e) => e.type === 'request.denied');
  expect(denied?.data).toMatchObject({ by: 'execute-check', code: 'REQUESTER_NOT_CONFIGURED', requester: 'deploy-bot' });

  // An agent still configured runs as before.
  expect(await approveAndSettle(g.gw(), kept.body.id)).toMatchObject({ status: 'succeeded' });
  expect(calls('/kept')).toBe(1);
});

it('a configured agent made a human: what it asked for as an agent does not run', async () => {
  const g = await gateway();
  const held = await g.gw().as('other-bot', '/v1/actions', { body: input('/kind') });
  expect(held.status).toBe(202);
  await g.restart(DEFAULT_PRINCIPALS.map((p) => (p.id === 'other-bot' ? { id: 'other-bot', kind: 'human' as const, groups: [] } : p)), true);
  expect(await approveAndSettle(g.gw(), held.body.id)).toMatchObject({ status: 'denied', error: { code: 'REQUESTER_NOT_CONFIGURED' } });
  expect(calls('/kind')).toBe(0);
});

it('a token agent whose issuer was taken out of identity.issuers: its held request does not run', async () => {
  const g = await gateway();
  const token = await workloads.sign({ aud: 'countersign', sub: 'etl-job' });
  const res = await fetch(`${g.gw().url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input('/issuer-gone')) });
  const held = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(held)).toBe(202);
  await g.restart(DEFAULT_PRINCIPALS, false);
  expect(await approveAndSettle(g.gw(), held.id)).toMatchObject({ status: 'denied', error: { code: 'REQUESTER_NOT_CONFIGURED' } });
  expect(calls('/issuer-gone')).toBe(0);
});

it('an agent whose key was rotated out of its apiKeys: what the old key asked for does not run; the new key and other agents run as before', async () => {
  const g = await gateway();
  const leaked = await g.gw().as('deploy-bot', '/v1/actions', { body: input('/leaked') });
  expect(leaked.status).toBe(202);
  const kept = await g.gw().as('other-bot', '/v1/actions', { body: input('/other') });
  expect(kept.status).toBe(202);
  const oldKey = g.gw().keys['deploy-bot'];
  await g.restart(DEFAULT_PRINCIPALS, true, ['deploy-bot']);
  expect(g.gw().keys['deploy-bot']).not.toBe(oldKey);

  const settled = await approveAndSettle(g.gw(), leaked.body.id);
  expect(settled).toMatchObject({ status: 'denied', error: { code: 'REQUESTER_NOT_CONFIGURED' } });
  expect(settled.error.message).toMatch(/API key deploy-bot asked with is no longer one of its apiKeys/);
  expect(calls('/leaked')).toBe(0);
  const denied = (await storedAudit(g.gw().deps.store, leaked.body.id)).find((e) => e.type === 'request.denied');
  expect(denied?.data).toMatchObject({ by: 'execute-check', code: 'REQUESTER_NOT_CONFIGURED', requester: 'deploy-bot' });

  // The same agent with its new key, and another agent whose key stayed, run as before.
  const renewed = await g.gw().as('deploy-bot', '/v1/actions', { body: input('/renewed') });
  expect(renewed.status).toBe(202);
  expect(await approveAndSettle(g.gw(), renewed.body.id)).toMatchObject({ status: 'succeeded' });
  expect(calls('/renewed')).toBe(1);
  expect(await approveAndSettle(g.gw(), kept.body.id)).toMatchObject({ status: 'succeeded' });
  expect(calls('/other')).toBe(1);
});
