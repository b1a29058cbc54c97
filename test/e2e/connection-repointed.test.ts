/**
 * An approval is for one action on one target. A held request whose connection the configuration points elsewhere
 * by the time it runs (the gateway restarted with the same connection name on another URL, its tags unchanged) is
 * not run there: the reviewers approved a call to the first upstream, never one to the second. It is denied
 * UNKNOWN_CONNECTION, audited, and the new upstream is never called; a request submitted after the change runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let dir: string;
let staging: Upstream;
let production: Upstream;
let second: TestGateway | undefined;

afterAll(async () => {
  await second?.stop();
  await Promise.all([staging, production].map((u) => u?.close()));
  if (dir) await releaseTestStore(join(dir, 'countersign.db'));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const body = (url: string) => `connections:
  - { name: ops-api, kind: http, url: ${url}, tags: { env: staging } }
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`;

describe('a connection pointed elsewhere between hold and run', () => {
  it('denies the held request UNKNOWN_CONNECTION and never calls the new target; a new submission runs there', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-repointed-'));
    [staging, production] = await Promise.all([startUpstream(), startUpstream()]);
    const db = join(dir, 'countersign.db');
    const keys: Record<string, string> = {};
    const first = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body(staging.url), db)), { dir, keys });
    let id: string;
    try {
      const held = await first.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/truncate' }, reason: 'clear the staging queue' } });
      expect(held.status).toBe(202);
      id = held.body.id as string;
    } finally {
      await first.stop();
    }

    second = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body(production.url), db)), { dir, keys });
    const gw = second;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const settled = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}`);
      return r.body.status === 'pending' || r.body.status === 'approved' || r.body.status === 'executing' ? undefined : r.body;
    });
    expect(settled).toMatchObject({ status: 'denied', error: { code: 'UNKNOWN_CONNECTION' } });
    expect(production.calls).toHaveLength(0);
    expect(staging.calls).toHaveLength(0);
    const denied = (await storedAudit(gw.deps.store)).filter((e) => e.requestId === id && e.type === 'request.denied');
    expect(denied).toMatchObject([{ data: { by: 'execute-check', code: 'UNKNOWN_CONNECTION' } }]);

    // Submitted after the change, the same action is judged and approved for the new target, and runs there.
    const fresh = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/truncate' }, reason: 'clear the queue' } });
    expect(fresh.status).toBe(202);
    expect((await gw.as('alice', `/v1/requests/${fresh.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${fresh.body.id}`)).body.status === 'succeeded' ? true : undefined));
    expect(production.calls).toHaveLength(1);
  });

  it('binds the target as the file writes it: a ${VAR} that each process’s environment fills (a replica’s own host) moves nothing', async () => {
    // Replicas of one file may reach one upstream by their own addresses; what the file says is what was approved.
    const dir2 = mkdtempSync(join(tmpdir(), 'cs-repointed-env-'));
    const [viaA, viaB] = await Promise.all([startUpstream(), startUpstream()]);
    const db = join(dir2, 'countersign.db');
    const written = body('"${OPS_API_URL}"');
    let gw: TestGateway | undefined;
    try {
      const keys: Record<string, string> = {};
      const first = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, written, db)), { dir: dir2, keys, env: { OPS_API_URL: viaA.url } });
      let id: string;
      try {
        const held = await first.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/x' }, reason: 'per-replica address' } });
        id = held.body.id as string;
      } finally {
        await first.stop();
      }
      gw = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, written, db)), { dir: dir2, keys, env: { OPS_API_URL: viaB.url } });
      const g = gw;
      expect((await g.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
      await eventually(async () => ((await g.as('deploy-bot', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined));
      expect(viaB.calls).toHaveLength(1);
    } finally {
      await gw?.stop();
      await Promise.all([viaA.close(), viaB.close()]);
      await releaseTestStore(db);
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
