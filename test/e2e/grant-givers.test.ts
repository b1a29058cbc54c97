/**
 * A scoped grant stands in for the approvals that made it, so it stands only while they would still count: a
 * granting reviewer since taken out of the approvers' group, or out of the configuration, or one who could approve
 * only through an escalation rung the policy no longer has, no longer pre-approves the agent's next actions of that
 * shape; they are held for reviewers like any other. The gateway is restarted on the same store with the changed
 * configuration, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { executeApproved } from '../../src/service/execute.ts';
import { manualClock } from '../support/clock.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
});
afterAll(async () => {
  await upstream?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const body = (escalate = '') => `connections:
  - name: billing
    kind: http
    url: ${upstream.url}/billing
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
${escalate}`;

const refund = (amount: number) => ({ connection: 'billing', input: { method: 'POST', path: '/refunds', body: { amount, order: 'o-7' } }, reason: 'refund a double charge' });
const refunds = () => upstream.calls.filter((c) => c.url === '/billing/refunds').length;

async function settled(gw: TestGateway, id: string): Promise<string> {
  return eventually(async () => {
    const s = (await gw.deps.store.getRequest(id))?.status;
    return s === 'succeeded' || s === 'failed' || s === 'denied' ? s : undefined;
  });
}

describe('a grant whose giver no longer counts as an approver', () => {
  const changes: [string, TestPrincipal[]][] = [
    ['taken out of the group', DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, groups: ['dev'] } : p))],
    ['removed from the configuration', DEFAULT_PRINCIPALS.filter((p) => p.id !== 'alice')],
  ];
  for (const [change, principals] of changes) {
    it(`approves nothing more once its giver was ${change}: the next action of its shape is held`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cs-grant-givers-'));
      dirs.push(dir);
      const keys: Record<string, string> = {};
      const start = (ps: TestPrincipal[]) => startTestGateway(configYaml(ps, keys, body(), join(dir, 'countersign.db')), { dir, keys });
      let gw = await start(DEFAULT_PRINCIPALS);
      try {
        const held = await gw.as('deploy-bot', '/v1/actions', { body: refund(1) });
        expect(held.status).toBe(202);
        const ok = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '1h' } } });
        expect(ok.status).toBe(200);
        const grantId = ok.body.grant.id as string;
        expect(await settled(gw, held.body.id)).toBe('succeeded');
        // While alice is an approver, her grant approves the next one.
        const used = await gw.as('deploy-bot', '/v1/actions', { body: refund(2) });
        expect(used.body.grantedBy).toEqual({ grantId, use: 1, of: 3 });

        await gw.stop();
        gw = await start(principals);
        const before = refunds();
        const after = await gw.as('deploy-bot', '/v1/actions', { body: refund(3) });
        expect(after.status).toBe(202);
        expect(after.body.status).toBe('pending');
        expect(after.body.grantedBy).toBeUndefined();
        expect((await storedAudit(gw.deps.store, after.body.id)).map((e) => e.type)).toEqual(['request.submitted', 'request.held']);
        expect((await gw.deps.store.getGrant(grantId))?.used).toBe(1);
        expect(refunds()).toBe(before);
      } finally {
        await gw.stop();
      }
    });
  }
});

describe('a grant whose giver could approve only through an escalation rung', () => {
  it('approves nothing more once the policy no longer has that rung: the next action of its shape is held, one it approved goes back to reviewers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-grant-givers-'));
    dirs.push(dir);
    const keys: Record<string, string> = {};
    const principals = [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['oncall'] }];
    const clock = manualClock();
    const rung = '      escalate: [{ after: 15m, to: { groups: [oncall] } }]\n';
    const start = (escalate: string) => startTestGateway(configYaml(principals, keys, body(escalate), join(dir, 'countersign.db')), { dir, keys, clock });
    let gw = await start(rung);
    try {
      const held = await gw.as('deploy-bot', '/v1/actions', { body: refund(1) });
      expect(held.status).toBe(202);
      clock.advance(16 * 60_000);
      await eventually(async () => ((await gw.deps.store.getRequest(held.body.id))?.escalations?.length ? true : undefined));
      // erin (oncall, not sre) approves through the rung, and offers a grant.
      const ok = await gw.as('erin', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '1h' } } });
      expect(ok.status).toBe(200);
      const grantId = ok.body.grant.id as string;
      expect(await settled(gw, held.body.id)).toBe('succeeded');
      const used = await gw.as('deploy-bot', '/v1/actions', { body: refund(2) });
      expect(used.body.grantedBy).toEqual({ grantId, use: 1, of: 3 });

      // The rung is taken out: oncall may no longer approve these refunds, so erin's grant approves nothing more.
      await gw.stop();
      gw = await start('');
      const before = refunds();
      const after = await gw.as('deploy-bot', '/v1/actions', { body: refund(3) });
      expect(after.status).toBe(202);
      expect(after.body.status).toBe('pending');
      expect(after.body.grantedBy).toBeUndefined();
      expect((await storedAudit(gw.deps.store, after.body.id)).map((e) => e.type)).toEqual(['request.submitted', 'request.held']);
      expect((await gw.deps.store.getGrant(grantId))?.used).toBe(1);
      expect(refunds()).toBe(before);

      // Nor does it run what it approved before the rung was taken out and had not run yet: back to reviewers.
      const stored = (await gw.deps.store.getRequest(used.body.id))!;
      const waiting = { ...stored, id: `${stored.id}_w`, status: 'approved' as const, result: null, error: null, runDeadline: null, version: 1 };
      await gw.deps.store.insertRequest(waiting, []);
      const requeued = await executeApproved(gw.deps, waiting.id);
      expect([requeued.status, requeued.grantedBy]).toEqual(['pending', undefined]);
      expect((await gw.deps.store.searchAudit({ requestId: waiting.id, types: ['request.requeued'] }))[0]?.data).toMatchObject({ grantNoLongerStands: grantId });
      expect(refunds()).toBe(before);
    } finally {
      await gw.stop();
    }
  });
});
