/**
 * The scoped-grant part of the store contract: a grant is created with the approval that made it (one transaction),
 * a use is an atomic compare-and-set that records its request in the same transaction, so of any number of racing
 * uses exactly `uses` win; an expired, used-up or revoked grant gives none, and a revocation is written once.
 * Every store runs it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Grant } from '../../src/core/grant.ts';
import { IdempotencyKeyTaken } from '../../src/core/idempotency.ts';
import { ResumeKeyTaken } from '../../src/core/resume-key.ts';
import type { Store } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { at, auditDraft, FIXTURE_TIME, requestRecord, reviewOf } from '../support/fixtures.ts';
import { allAudit, carol, submitted } from './store-fixtures.ts';

let n = 0;

function grantFixture(requestId: string, overrides: Partial<Grant> = {}): Grant {
  n += 1;
  return {
    id: `grt_contract_${n}`,
    requestId,
    principal: { id: 'deploy-bot', kind: 'agent', actsFor: null },
    connection: 'orders-db',
    operation: 'sql.query',
    shape: `sha256:${'a'.repeat(63)}${n % 10}`,
    vary: ['params'],
    rules: ['writes'],
    uses: 3,
    used: 0,
    createdAt: at(60),
    expiresAt: at(1800),
    by: [{ id: 'carol', email: null, identity: null }],
    revoked: null,
    ...overrides,
  };
}

/** Approves `r` by carol and creates `grant` with it. */
async function approveWithGrant(store: Store, r: RequestRecord, grant: Grant): Promise<void> {
  await store.mutateRequest(r.id, (current) => {
    const review = reviewOf(current, carol);
    const next = { ...transition(current, 'approved', FIXTURE_TIME), reviews: [review], grant: { id: grant.id, uses: grant.uses, expiresAt: grant.expiresAt } };
    return { result: null, next, review, grant, audit: [auditDraft('grant.created', r.id, { grantId: grant.id })] };
  });
}

/** A use of `g` at `now`: the request it would record, approved and stamped with the use. */
function useOf(store: Store, g: Grant, now: string, overrides: Partial<RequestRecord> = {}) {
  const r = requestRecord({ status: 'approved', ...overrides });
  return store.useGrant(g.id, now, r, (after) => ({
    request: { ...r, grantedBy: { grantId: after.id, use: after.used, of: after.uses, shape: after.shape } },
    audit: [auditDraft('grant.used', r.id, { grantId: after.id, use: after.used, of: after.uses })],
  }));
}

export function grantContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: scoped grants`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => cleanup());

    it('creates a grant in the transaction of the approval that made it, and finds it by id, shape and request', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id);
      await approveWithGrant(store, r, g);
      expect(await store.getGrant(g.id)).toEqual(g);
      expect(await store.activeGrants(g.shape, at(120))).toEqual([g]);
      expect(await store.listGrants({ requestId: r.id })).toEqual([g]);
      expect((await store.listGrants({})).map((x) => x.id)).toEqual([g.id]);
      expect((await store.getRequest(r.id))?.grant?.id).toBe(g.id);
      expect((await allAudit(store)).map((e) => e.type)).toEqual(['request.created', 'grant.created']);
    });

    it('writes no grant when the approval that carried it fails', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id);
      await approveWithGrant(store, r, g);
      // carol again: the reviews' key refuses a second vote, and the second grant goes with it.
      const again = grantFixture(r.id);
      await expect(
        store.mutateRequest(r.id, (current) => ({ result: null, next: { ...current, version: current.version + 1 }, review: reviewOf(current, carol), grant: again, audit: [] })),
      ).rejects.toThrow();
      expect(await store.getGrant(again.id)).toBeUndefined();
    });

    it('of many racing uses, exactly `uses` win, each recording its request and numbered once', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id, { uses: 3 });
      await approveWithGrant(store, r, g);
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => useOf(store, g, at(120))));
      const won = outcomes.filter((o): o is RequestRecord => o !== undefined);
      expect(won).toHaveLength(3);
      expect(won.map((w) => w.grantedBy?.use).sort()).toEqual([1, 2, 3]);
      for (const w of won) expect((await store.getRequest(w.id))?.grantedBy).toMatchObject({ grantId: g.id, of: 3 });
      expect((await store.getGrant(g.id))?.used).toBe(3);
      expect(await store.activeGrants(g.shape, at(120))).toEqual([]);
      expect((await allAudit(store)).filter((e) => e.type === 'grant.used')).toHaveLength(3);
    });

    it('gives no use of an expired or revoked grant, and writes nothing then', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id, { expiresAt: at(600) });
      await approveWithGrant(store, r, g);
      expect(await useOf(store, g, at(600))).toBeUndefined();
      expect(await store.activeGrants(g.shape, at(600))).toEqual([]);
      const before = (await allAudit(store)).length;
      const revoked = await store.revokeGrant(g.id, { by: 'dave', at: at(100) }, [auditDraft('grant.revoked', r.id, { grantId: g.id })]);
      expect(revoked).toMatchObject({ changed: true, grant: { revoked: { by: 'dave', at: at(100) } } });
      expect(await useOf(store, g, at(120))).toBeUndefined();
      expect((await store.getGrant(g.id))?.used).toBe(0);
      expect((await allAudit(store)).length).toBe(before + 1);
    });

    it('revokes once: a second revocation changes nothing and writes no event; an unknown grant is undefined', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id);
      await approveWithGrant(store, r, g);
      await store.revokeGrant(g.id, { by: 'carol', at: at(100) }, [auditDraft('grant.revoked', r.id)]);
      const again = await store.revokeGrant(g.id, { by: 'dave', at: at(200) }, [auditDraft('grant.revoked', r.id)]);
      expect(again).toMatchObject({ changed: false, grant: { revoked: { by: 'carol', at: at(100) } } });
      expect((await allAudit(store)).filter((e) => e.type === 'grant.revoked')).toHaveLength(1);
      expect(await store.revokeGrant('grt_never', { by: 'carol', at: at(100) }, [auditDraft('grant.revoked', null)])).toBeUndefined();
    });

    it('rolls a use back when its request cannot be recorded (its idempotency key taken)', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id);
      await approveWithGrant(store, r, g);
      await submitted(store, { idempotencyKey: 'k-1' });
      await expect(useOf(store, g, at(120), { idempotencyKey: 'k-1' })).rejects.toBeInstanceOf(IdempotencyKeyTaken);
      expect((await store.getGrant(g.id))?.used).toBe(0);
      expect((await allAudit(store)).filter((e) => e.type === 'grant.used')).toEqual([]);
    });

    it('rolls a use back when its request cannot be recorded (a live request holds its resume key)', async () => {
      const r = await submitted(store);
      const g = grantFixture(r.id);
      await approveWithGrant(store, r, g);
      await submitted(store, { resumeKey: 'rk-1' });
      await expect(useOf(store, g, at(120), { resumeKey: 'rk-1' })).rejects.toBeInstanceOf(ResumeKeyTaken);
      expect((await store.getGrant(g.id))?.used).toBe(0);
      expect((await allAudit(store)).filter((e) => e.type === 'grant.used')).toEqual([]);
    });
  });
}
