/**
 * A scoped grant stands in for the approvals of one shape of action on one target. After the gateway restarted with
 * the grant's connection name pointed at another URL (its tags and the policy unchanged), an action of that shape is
 * a call to an upstream the granting reviewer never approved: it is held for reviewers and the new upstream is never
 * called, as a held request approved before the change is denied at run (connection-repointed.test.ts).
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
  - { name: billing, kind: http, url: ${url}, tags: { env: staging } }
policy:
  default: deny
  rules:
    - id: refunds
      when: "true"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
`;

const refund = (amount: number) => ({ connection: 'billing', input: { method: 'POST', path: '/refunds', body: { amount } }, reason: 'refund a double charge' });

describe('a scoped grant after its connection was pointed elsewhere', () => {
  it('approves nothing on the new target: the next action of its shape is held and the new upstream is not called', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-grant-repointed-'));
    [staging, production] = await Promise.all([startUpstream(), startUpstream()]);
    const db = join(dir, 'countersign.db');
    const keys: Record<string, string> = {};
    const first = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body(staging.url), db)), { dir, keys });
    let grantId: string;
    try {
      const held = await first.as('deploy-bot', '/v1/actions', { body: refund(10) });
      expect(held.status).toBe(202);
      const ok = await first.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '30m' } } });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      grantId = ok.body.grant.id as string;
      await eventually(async () => ((await first.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined));
      // Within its shape on its own target, the grant approves.
      const used = await first.as('deploy-bot', '/v1/actions', { body: refund(11) });
      expect([used.status, used.body.status, used.body.grantedBy?.grantId]).toEqual([200, 'succeeded', grantId]);
      expect(staging.calls).toHaveLength(2);
    } finally {
      await first.stop();
    }

    const keys2: Record<string, string> = {};
    second = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys2, body(production.url), db)), { dir, keys: keys2 });
    const gw = second;
    const after = await gw.as('deploy-bot', '/v1/actions', { body: refund(12) });
    expect([after.status, after.body.status, after.body.grantedBy]).toEqual([202, 'pending', undefined]);
    expect(production.calls).toHaveLength(0);
    const uses = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'grant.used' && e.data['grantId'] === grantId);
    expect(uses).toHaveLength(1);

    // Approved by a reviewer for the new target, it runs there.
    expect((await gw.as('alice', `/v1/requests/${after.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${after.body.id}`)).body.status === 'succeeded' ? true : undefined));
    expect(production.calls).toHaveLength(1);
  });
});
