/**
 * The outbox part of the store contract: deliveries commit with the audit
 * event that causes them (and roll back with it), come out oldest first and
 * one at a time per (channel, request), are leased while tried, retried when
 * they fail and kept aside when dead; channel messages and known humans
 * come back as stored. Every store runs it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxRouter } from '../../src/core/outbox.ts';
import type { Store } from '../../src/core/ports.ts';
import { transition } from '../../src/core/request.ts';
import { at, auditDraft, FIXTURE_TIME, requestRecord } from '../support/fixtures.ts';

/** Every request event goes to `slack`; only `request.approved` also to `webhook:ops`. */
const router: OutboxRouter = (e) =>
  e.requestId === null
    ? []
    : [
        { channel: 'slack', event: e.type, requestId: e.requestId, payload: { data: e.data }, createdAt: e.time },
        ...(e.type === 'request.approved' ? [{ channel: 'webhook:ops', event: e.type, requestId: e.requestId, payload: {}, createdAt: e.time }] : []),
      ];

export function outboxContract(name: string, make: (router: OutboxRouter) => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: outbox`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make(router));
    });
    afterEach(async () => cleanup());

    const later = new Date(FIXTURE_TIME.getTime() + 3600_000);

    it('enqueues a delivery with each audit event, in the same transaction, and none when the change fails', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.submitted', r.id, {}), auditDraft('request.held', r.id, {})]);
      await expect(store.mutateRequest(r.id, () => { throw new Error('refused'); })).rejects.toThrow('refused');
      await store.appendAudit([auditDraft('policy.loaded', null, {})]);
      const due = await store.claimDeliveries(later, 10, 60_000);
      // One per (channel, request): the held event waits for the submitted one.
      expect(due.map((d) => [d.channel, d.event])).toEqual([['slack', 'request.submitted']]);
      expect(due[0]).toMatchObject({ requestId: r.id, attempts: 0, lastError: null });
    });

    it('hands out a request\'s deliveries in order, each leased while it is tried', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.held', r.id, {})]);
      await store.mutateRequest(r.id, (c) => {
        const next = transition(c, 'approved', FIXTURE_TIME);
        return { result: null, next, audit: [auditDraft('request.approved', r.id, {})] };
      });
      const first = await store.claimDeliveries(later, 10, 60_000);
      expect(first.map((d) => [d.channel, d.event])).toEqual([['slack', 'request.held'], ['webhook:ops', 'request.approved']]);
      // Leased: not handed out again, and the next of the request waits for it.
      expect(await store.claimDeliveries(later, 10, 60_000)).toEqual([]);
      await store.completeDelivery(first[0]!.id);
      await store.completeDelivery(first[1]!.id);
      const second = await store.claimDeliveries(later, 10, 60_000);
      expect(second.map((d) => d.event)).toEqual(['request.approved']);
    });

    it('leases nothing while the meta value named is another, and what is due once it is that value', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.held', r.id, {})]);
      const onlyIf = { key: 'config.generation', value: 'gen-b' };
      // No value recorded, then another's: nothing leased, the row stays owed.
      expect(await store.claimDeliveries(later, 10, 60_000, onlyIf)).toEqual([]);
      await store.appendAudit([], { 'config.generation': 'gen-a' });
      expect(await store.claimDeliveries(later, 10, 60_000, onlyIf)).toEqual([]);
      await store.appendAudit([], { 'config.generation': 'gen-b' });
      const due = await store.claimDeliveries(later, 10, 60_000, onlyIf);
      expect(due.map((d) => [d.channel, d.event])).toEqual([['slack', 'request.held']]);
    });

    it('retries a failed delivery at the time given, counts attempts, and reports the channel failing until it is made', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.held', r.id, {})]);
      const [d] = await store.claimDeliveries(later, 10, 60_000);
      await store.failDelivery(d!.id, 'slack chat.postMessage: unreachable', new Date(later.getTime() + 5000).toISOString());
      expect(await store.claimDeliveries(later, 10, 60_000)).toEqual([]);
      expect((await store.outboxHealth()).find((h) => h.channel === 'slack')).toMatchObject({ pending: 1, failing: true, lastError: 'slack chat.postMessage: unreachable' });
      const [again] = await store.claimDeliveries(new Date(later.getTime() + 5000), 10, 60_000);
      expect(again).toMatchObject({ id: d!.id, attempts: 1 });
      await store.completeDelivery(again!.id);
      expect((await store.outboxHealth()).find((h) => h.channel === 'slack')).toMatchObject({ pending: 0, failing: false, dead: 0 });
    });

    it('sets a dead delivery aside for good and lets the request\'s next one through', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.held', r.id, {}), auditDraft('review.recorded', r.id, {})]);
      const [d] = await store.claimDeliveries(later, 10, 60_000);
      await store.failDelivery(d!.id, 'channel_not_found', null);
      const next = await store.claimDeliveries(new Date('9999-01-01T00:00:00Z'), 10, 60_000);
      expect(next.map((x) => x.event)).toEqual(['review.recorded']);
      expect((await store.outboxHealth()).find((h) => h.channel === 'slack')).toMatchObject({ dead: 1, lastError: 'channel_not_found' });
    });

    it('keeps channel messages per request and channel, and known humans by email and id', async () => {
      await store.addChannelMessage({ requestId: 'req_1', channel: 'slack', ref: { channel: 'C1', ts: '1.2' }, createdAt: at(0) });
      await store.addChannelMessage({ requestId: 'req_1', channel: 'slack', ref: { channel: 'C2', ts: '3.4' }, createdAt: at(1) });
      await store.addChannelMessage({ requestId: 'req_1', channel: 'teams', ref: { id: 'x' }, createdAt: at(1) });
      expect((await store.channelMessages('req_1', 'slack')).map((m) => m.ref)).toEqual([{ channel: 'C1', ts: '1.2' }, { channel: 'C2', ts: '3.4' }]);
      expect(await store.channelMessages('req_2', 'slack')).toEqual([]);

      const alice = { id: 'alice', email: 'alice@example.com', groups: ['sre'], issuer: 'https://idp.example.com', subject: 'u1', claimedId: 'ajones', seenAt: at(0) };
      await store.rememberHuman(alice);
      await store.rememberHuman({ ...alice, groups: ['sre', 'dba'], seenAt: at(5) });
      expect(await store.knownHumanByEmail('alice@example.com')).toEqual({ ...alice, groups: ['sre', 'dba'], seenAt: at(5) });
      expect((await store.knownHumanById('alice'))?.email).toBe('alice@example.com');
      expect(await store.knownHumanByEmail('mallory@example.com')).toBeUndefined();
      const bob = { id: 'bob@example.com', email: 'bob@example.com', groups: [], issuer: 'https://idp.example.com', subject: 'u2', seenAt: at(6) };
      await store.rememberHuman(bob);
      expect(await store.knownHumans()).toEqual([{ ...alice, groups: ['sre', 'dba'], seenAt: at(5) }, bob]);
    });

    it('never owes a delivery again once it was made, whatever failure is reported for it after (a lease that ran out)', async () => {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.held', r.id, {})]);
      const [slow] = await store.claimDeliveries(later, 5, 1_000);
      const [fast] = await store.claimDeliveries(new Date(later.getTime() + 2_000), 5, 60_000);
      expect(fast?.id).toBe(slow!.id);
      await store.completeDelivery(fast!.id);
      await store.failDelivery(slow!.id, 'timed out', new Date(later.getTime() + 3_000).toISOString());
      await store.failDelivery(slow!.id, 'refused', null);
      expect(await store.claimDeliveries(new Date(later.getTime() + 3600_000), 5, 60_000)).toEqual([]);
      expect(await store.outboxHealth()).toEqual([expect.objectContaining({ channel: 'slack', pending: 0, dead: 0 })]);
    });
  });
}
