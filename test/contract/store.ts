/**
 * The Store contract: what every store (SQLite now, PostgreSQL later) must do,
 * written once and run against each. A store passes when a use case cannot
 * tell which one it talks to: same records back, guarded atomic writes, the
 * audit chain committed with the state it describes, one winner under races.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChainVerifier, type AuditEvent } from '../../src/core/audit.ts';
import { CountersignError } from '../../src/core/errors.ts';
import { acceptPin, reconcilePins } from '../../src/core/mcp/pins.ts';
import type { ToolDefinition } from '../../src/core/mcp/tool.ts';
import type { Mutation, Store } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { agent, at, auditDraft, FIXTURE_TIME, human, requestRecord, reviewOf } from '../support/fixtures.ts';
import { allAudit, approveBy, carol, dave, submitted } from './store-fixtures.ts';
import { storeIdempotencyContract } from './store-idempotency.ts';
import { storeResumeContract } from './store-resume.ts';
import { storeDigestContract } from './store-digest.ts';
import { storeEscalationContract } from './store-escalations.ts';
import { storeConditionContract } from './store-conditions.ts';

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

/**
 * Registers the contract suite for one store.
 *
 * @example
 * storeContract('sqlite (memory)', async () => {
 *   const store = createSqliteStore({ path: ':memory:' });
 *   return { store, cleanup: () => store.close() };
 * });
 */
export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(name, () => {
    let sut: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    describe('requests', () => {
      it('returns an inserted request exactly as it was given, reviews included', async () => {
        const bare = await submitted(store);
        expect(await store.getRequest(bare.id)).toEqual(bare);

        const base = requestRecord();
        const reviewed = { ...base, reviews: [reviewOf(base, carol, 'approve', at(10)), reviewOf(base, dave, 'deny', at(20))] };
        await store.insertRequest(reviewed, []);
        expect(await store.getRequest(reviewed.id)).toEqual(reviewed);
      });

      it('keeps any text an agent can send, in requests and events written together: quotes, backslashes, escapes, NUL, lone surrogates, emoji', async () => {
        const odd = ['"', '\\', '\\"', '{"a":"b"}', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '😀', '\\u0000', "'; DROP TABLE requests; --", '\n\t\r'];
        const base = requestRecord();
        const records = odd.map((text, i) => requestRecord({ id: `req_odd_${i}`, action: { ...base.action, input: { sql: text, params: [text] }, reason: text } }));
        // At once: one batch where the store groups its writes.
        await Promise.all(records.map((r, i) => store.insertRequest(r, [auditDraft('request.submitted', r.id, { text: odd[i], [odd[i]!]: i })])));
        for (const r of records) expect(await store.getRequest(r.id)).toEqual(JSON.parse(JSON.stringify(r)));
        const events = await store.readAudit(1, 100);
        expect(events).toHaveLength(odd.length);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
        const byRequest = new Map(events.map((e) => [e.requestId, e.data]));
        odd.forEach((text, i) => expect(byRequest.get(`req_odd_${i}`)).toEqual(JSON.parse(JSON.stringify({ text, [text]: i }))));
      });

      it('commits concurrent writes together, yet each one alone: a failing write rolls back only itself', async () => {
        const writes = Array.from({ length: 40 }, (_, i) =>
          // Write 17 reuses write 16's id: the primary key refuses it, inside the batch the store groups these into.
          store.insertRequest(requestRecord({ id: `r${i === 17 ? 16 : i}` }), [auditDraft('request.submitted', `r${i}`)]),
        );
        const settled = await Promise.allSettled(writes);
        expect(settled.filter((x) => x.status === 'rejected')).toHaveLength(1);
        expect(settled[17]!.status).toBe('rejected');
        expect(await store.listRequests({ limit: 1000 })).toHaveLength(39);
        const events = await store.readAudit(1, 1000);
        expect(events.map((e) => e.requestId)).not.toContain('r17');
        expect(events).toHaveLength(39);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
        expect(await store.treeHead()).toMatchObject({ size: 39 });
      });

      it('returns undefined for an unknown id', async () => {
        expect(await store.getRequest('req_nope')).toBeUndefined();
      });

      it('refuses a second request with the same id and keeps the first', async () => {
        const r = await submitted(store);
        await expect(store.insertRequest({ ...r, status: 'approved' }, [auditDraft('request.created', r.id)])).rejects.toThrow();
        expect((await store.getRequest(r.id))?.status).toBe('pending');
        expect(await allAudit(store)).toHaveLength(1);
      });

      it('lists newest first, filtered by status and by who is involved, up to the limit', async () => {
        const a = await submitted(store, { createdAt: at(1), principal: agent('bot-a', 'alice') });
        const b = await submitted(store, { createdAt: at(2), principal: agent('bot-b', 'bob'), status: 'approved' });
        const c = await submitted(store, { createdAt: at(3), principal: human('alice'), status: 'denied' });
        const d = await submitted(store, { createdAt: at(4), principal: agent('bot-a', null) });

        const ids = (rs: RequestRecord[]) => rs.map((r) => r.id);
        expect(ids(await store.listRequests({}))).toEqual([d.id, c.id, b.id, a.id]);
        expect(ids(await store.listRequests({ status: ['pending'] }))).toEqual([d.id, a.id]);
        expect(ids(await store.listRequests({ status: ['approved', 'denied'] }))).toEqual([c.id, b.id]);
        expect(ids(await store.listRequests({ involving: 'alice' }))).toEqual([c.id, a.id]);
        expect(ids(await store.listRequests({ involving: 'bot-a' }))).toEqual([d.id, a.id]);
        expect(ids(await store.listRequests({ involving: 'alice', status: ['pending'] }))).toEqual([a.id]);
        expect(ids(await store.listRequests({ limit: 2 }))).toEqual([d.id, c.id]);
        expect(await store.listRequests({ involving: 'nobody' })).toEqual([]);
      });

      it('lists by connection, tag and creation time, and pages with before', async () => {
        const prodDb = { name: 'orders-db', kind: 'postgres' as const, tags: { env: 'prod', compliance: ['soc2', 'gdpr'] } };
        const stagingApi = { name: 'billing-api', kind: 'http' as const, tags: { env: 'staging' } };
        const a = await submitted(store, { createdAt: at(1), connection: prodDb });
        const b = await submitted(store, { createdAt: at(2), connection: stagingApi, action: { ...requestRecord().action, connection: 'billing-api' } });
        const c = await submitted(store, { createdAt: at(3), connection: prodDb });

        const ids = (rs: RequestRecord[]) => rs.map((r) => r.id);
        expect(ids(await store.listRequests({ connection: 'billing-api' }))).toEqual([b.id]);
        expect(ids(await store.listRequests({ tag: 'env=prod' }))).toEqual([c.id, a.id]);
        expect(ids(await store.listRequests({ tag: 'compliance=gdpr' }))).toEqual([c.id, a.id]);
        expect(ids(await store.listRequests({ tag: 'env' }))).toEqual([c.id, b.id, a.id]);
        expect(ids(await store.listRequests({ from: at(2), to: at(3) }))).toEqual([b.id]);
        expect(ids(await store.listRequests({ before: c.id, limit: 1 }))).toEqual([b.id]);
        expect(ids(await store.listRequests({ before: a.id }))).toEqual([]);
      });

      it('lists requests with their reviews', async () => {
        const r = await submitted(store);
        await store.mutateRequest(r.id, approveBy(carol));
        const [listed] = await store.listRequests({ involving: 'alice' });
        expect(listed?.reviews.map((v) => v.reviewer.id)).toEqual(['carol']);
        expect(listed).toEqual(await store.getRequest(r.id));
      });

      it('names only pending requests whose expiry is at or before now as due', async () => {
        const past = await submitted(store, { expiresAt: at(-10) });
        const exactlyNow = await submitted(store, { expiresAt: at(0) });
        await submitted(store, { expiresAt: at(1) });
        await submitted(store, { expiresAt: null });
        await submitted(store, { status: 'approved', expiresAt: at(-10) });
        await submitted(store, { status: 'cancelled', expiresAt: at(-10) });

        expect((await store.dueForExpiry(FIXTURE_TIME, 10)).sort()).toEqual([past.id, exactlyNow.id].sort());
        expect(await store.dueForExpiry(FIXTURE_TIME, 1)).toHaveLength(1);
        expect(await store.dueForExpiry(new Date(FIXTURE_TIME.getTime() - 60_000), 10)).toEqual([]);
      });

      it('counts the pending requests and names when the oldest of them was created, for metrics', async () => {
        expect(await store.pendingSummary()).toEqual({ count: 0, oldest: null });
        await submitted(store, { createdAt: at(-30), status: 'approved' });
        const newer = await submitted(store, { createdAt: at(-10) });
        const older = await submitted(store, { createdAt: at(-20) });
        await submitted(store, { createdAt: at(-40), status: 'cancelled' });
        expect(await store.pendingSummary()).toEqual({ count: 2, oldest: at(-20) });

        await store.mutateRequest(older.id, approveBy(carol));
        expect(await store.pendingSummary()).toEqual({ count: 1, oldest: newer.createdAt });
      });

      it("counts one principal's pending requests, no further than asked (a per-principal cap)", async () => {
        expect(await store.pendingOf('bot-a', 10)).toBe(0);
        for (let i = 0; i < 3; i++) await submitted(store, { createdAt: at(i), principal: agent('bot-a', 'alice') });
        const other = await submitted(store, { createdAt: at(5), principal: agent('bot-b', 'alice') });
        await submitted(store, { createdAt: at(6), principal: agent('bot-a', 'alice'), status: 'denied' });
        expect(await store.pendingOf('bot-a', 10)).toBe(3);
        expect(await store.pendingOf('bot-a', 2)).toBe(2);
        expect(await store.pendingOf('bot-b', 10)).toBe(1);
        await store.mutateRequest(other.id, approveBy(carol));
        expect(await store.pendingOf('bot-b', 10)).toBe(0);
      });
    });

    describe('mutateRequest', () => {
      it('writes the next record, the review and the audit events together, and returns the result', async () => {
        const r = await submitted(store);
        expect(await store.mutateRequest(r.id, approveBy(carol))).toBe('approved');

        const after = await store.getRequest(r.id);
        expect(after?.status).toBe('approved');
        expect(after?.version).toBe(r.version + 1);
        expect(after?.reviews).toEqual([reviewOf(r, carol)]);
        expect((await allAudit(store)).map((e) => [e.type, e.requestId])).toEqual([
          ['request.created', r.id],
          ['review.recorded', r.id],
        ]);
      });

      it('given the record the caller knows, changes what is stored: the known record while it stands, else the stored one', async () => {
        const r = await submitted(store);
        const seen: number[] = [];
        const bump = (current: RequestRecord): Mutation<number> => {
          seen.push(current.version);
          const next = { ...current, updatedAt: '2026-11-21T10:00:01.000Z', version: current.version + 1 };
          return { result: next.version, next, audit: [auditDraft('bumped', r.id)] };
        };
        expect(await store.mutateRequest(r.id, bump, r)).toBe(r.version + 1);
        // `r` is stale now: whatever fn made of it, the write applies to the stored version.
        seen.length = 0;
        expect(await store.mutateRequest(r.id, bump, r)).toBe(r.version + 2);
        expect(seen.at(-1)).toBe(r.version + 1);
        expect(await store.getRequest(r.id)).toMatchObject({ version: r.version + 2, updatedAt: '2026-11-21T10:00:01.000Z' });
        expect((await allAudit(store)).map((e) => e.type)).toEqual(['request.created', 'bumped', 'bumped']);
      });

      it('keeps an impact preview written to a waiting request, and its review written after it', async () => {
        const r = await submitted(store);
        const preview = { status: 'previewed' as const, at: at(5), statements: [{ command: 'UPDATE', table: 'public."Accounts"', rows: 3, plan: 'Update on "Accounts" → Seq Scan' }] };
        await store.mutateRequest(r.id, (current) => {
          const next = { ...current, preview, version: current.version + 1 };
          return { result: next, next, audit: [auditDraft('request.previewed', r.id)] };
        });
        expect(await store.mutateRequest(r.id, approveBy(carol))).toBe('approved');
        const after = await store.getRequest(r.id);
        expect(after).toMatchObject({ status: 'approved', version: r.version + 2, preview });
        expect((await store.listRequests({ status: ['approved'] })).find((x) => x.id === r.id)?.preview).toEqual(preview);
      });

      it('writes nothing when fn throws: same row, no review, no audit event', async () => {
        const r = await submitted(store);
        const refused = store.mutateRequest(r.id, () => {
          throw new CountersignError('REQUEST_ALREADY_DECIDED', 'no');
        });
        await expect(refused).rejects.toMatchObject({ code: 'REQUEST_ALREADY_DECIDED' });
        expect(await store.getRequest(r.id)).toEqual(r);
        expect(await allAudit(store)).toHaveLength(1);
      });

      it('writes only the audit events when fn returns no next record', async () => {
        const r = await submitted(store);
        await store.mutateRequest(r.id, () => ({ result: null, audit: [auditDraft('request.viewed', r.id)] }));
        expect(await store.getRequest(r.id)).toEqual(r);
        expect((await allAudit(store)).map((e) => e.type)).toEqual(['request.created', 'request.viewed']);
      });

      it('rejects an unknown id with NOT_FOUND and writes nothing', async () => {
        const missing = store.mutateRequest('req_nope', approveBy(carol));
        await expect(missing).rejects.toBeInstanceOf(CountersignError);
        await expect(missing).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(await allAudit(store)).toEqual([]);
      });

      it('refuses a second review by the same human and writes nothing of that mutation', async () => {
        const r = await submitted(store, { decision: { ...requestRecord().decision, approvers: [{ rule: 'x', groups: ['sre'], principals: [], count: 2 }] } });
        await store.mutateRequest(r.id, (current) => ({
          result: null,
          next: { ...current, version: current.version + 1 },
          review: reviewOf(current, carol),
          audit: [auditDraft('review.recorded', current.id)],
        }));
        const once = await store.getRequest(r.id);

        const again = store.mutateRequest(r.id, approveBy(carol));
        await expect(again).rejects.toMatchObject({ code: 'ALREADY_REVIEWED' });
        expect(await store.getRequest(r.id)).toEqual(once);
        expect(once?.reviews).toHaveLength(1);
        expect(await allAudit(store)).toHaveLength(2);
      });

      it('lets exactly one of 20 concurrent claims move approved → executing', async () => {
        const r = await submitted(store, { status: 'approved' });
        const claim = (current: RequestRecord): Mutation<string> => {
          if (current.status !== 'approved') throw new CountersignError('REQUEST_ALREADY_DECIDED', `already ${current.status}`);
          return { result: 'claimed', next: transition(current, 'executing', FIXTURE_TIME), audit: [auditDraft('execution.started', current.id)] };
        };
        const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => store.mutateRequest(r.id, claim)));

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'REQUEST_ALREADY_DECIDED' });
        const after = await store.getRequest(r.id);
        expect(after?.status).toBe('executing');
        expect(after?.version).toBe(r.version + 1);
        expect((await allAudit(store)).filter((e) => e.type === 'execution.started')).toHaveLength(1);
      });
    });

    storeDigestContract(() => store);
    storeIdempotencyContract(() => store);
    storeResumeContract(() => store);
    storeEscalationContract(() => store);
    storeConditionContract(() => store);

    describe('tool pins', () => {
      const tool = (name: string, description: string): ToolDefinition => ({ name, description, inputSchema: { type: 'object' } });

      it('writes pins with their audit events and reads them back per connection', async () => {
        const pinned = await store.mutateToolPins('fs', (current) => reconcilePins('fs', [tool('read', 'reads'), tool('write', 'writes')], current, at(0)));
        await store.mutateToolPins('other', (current) => reconcilePins('other', [tool('read', 'reads')], current, at(0)));

        expect(await store.toolPins('fs')).toEqual(pinned);
        expect((await store.toolPins('fs')).map((p) => [p.tool, p.pinnedBy, p.changed])).toEqual([
          ['read', 'first-sight', null],
          ['write', 'first-sight', null],
        ]);
        expect((await store.toolPins()).map((p) => `${p.connection}/${p.tool}`)).toEqual(['fs/read', 'fs/write', 'other/read']);
        expect((await allAudit(store)).map((e) => [e.type, e.data['tool']])).toEqual([
          ['mcp.tool.pinned', 'read'],
          ['mcp.tool.pinned', 'write'],
          ['mcp.tool.pinned', 'read'],
        ]);
      });

      it('keeps the accepted definition beside a changed one until a human accepts it', async () => {
        await store.mutateToolPins('fs', (current) => reconcilePins('fs', [tool('write', 'writes')], current, at(0)));
        await store.mutateToolPins('fs', (current) => reconcilePins('fs', [tool('write', 'also mails your keys')], current, at(10)));
        const [changed] = await store.toolPins('fs');
        expect(changed?.definition.description).toBe('writes');
        expect(changed?.changed?.definition.description).toBe('also mails your keys');

        await store.mutateToolPins('fs', (current) => acceptPin(current[0], changed!.changed!.hash, 'alice', at(20)));
        const [accepted] = await store.toolPins('fs');
        expect(accepted).toMatchObject({ hash: changed?.changed?.hash, pinnedBy: 'alice', changed: null, definition: { description: 'also mails your keys' } });
        expect((await allAudit(store)).map((e) => e.type)).toEqual(['mcp.tool.pinned', 'mcp.tool.changed', 'mcp.tool.accepted']);
      });

      it('writes nothing when fn throws', async () => {
        await store.mutateToolPins('fs', (current) => reconcilePins('fs', [tool('write', 'writes')], current, at(0)));
        const before = await store.toolPins('fs');
        await expect(store.mutateToolPins('fs', (current) => acceptPin(current[0], 'sha256:nope', 'alice', at(1)))).rejects.toMatchObject({ code: 'TOOL_DEFINITION_MISMATCH' });
        expect(await store.toolPins('fs')).toEqual(before);
        expect(await allAudit(store)).toHaveLength(1);
      });
    });

    describe('audit', () => {
      it('numbers events 1..n across writes and links each to the hash of the one before', async () => {
        const r = await submitted(store);
        await store.appendAudit([auditDraft('gateway.started', null), auditDraft('gateway.note', null, { n: 1 })]);
        await store.mutateRequest(r.id, approveBy(carol));
        await store.appendAudit([]);

        const events = await allAudit(store);
        expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
        expect(events.map((e) => e.type)).toEqual(['request.created', 'gateway.started', 'gateway.note', 'review.recorded']);
        expect(events[0]?.prev).toBe('0'.repeat(64));
        for (let i = 1; i < events.length; i++) expect(events[i]?.prev).toBe(events[i - 1]?.hash);
        expect(events[2]).toMatchObject({ requestId: null, actor: null, data: { n: 1 } });
      });

      it('pages with fromSeq and limit', async () => {
        await store.appendAudit(Array.from({ length: 7 }, (_, i) => auditDraft('tick', null, { i })));
        const seqs = async (from: number, limit: number) => (await store.readAudit(from, limit)).map((e) => e.seq);
        expect(await seqs(1, 3)).toEqual([1, 2, 3]);
        expect(await seqs(4, 3)).toEqual([4, 5, 6]);
        expect(await seqs(7, 3)).toEqual([7]);
        expect(await seqs(8, 3)).toEqual([]);
        const raw = await store.readAuditRaw(4, 3);
        expect(raw.map((e) => e.seq)).toEqual([4, 5, 6]);
        expect(raw.map((e) => [e.body, e.hash])).toEqual((await store.readAudit(4, 3)).map((e) => [e.body, e.hash]));
      });

      it('reads the columns an event is found by, as its body says them', async () => {
        const r = await submitted(store);
        await store.appendAudit([auditDraft('gateway.note', null, { n: 1 })]);
        await store.mutateRequest(r.id, approveBy(carol));
        const events = await allAudit(store);
        expect(await store.readAuditColumns(2, 5)).toEqual(events.slice(1).map((e) => ({ seq: e.seq, time: e.time, type: e.type, requestId: e.requestId, actor: e.actor })));
        expect(events.at(-1)!.requestId).toBe(r.id);
        expect(events.at(-1)!.actor).not.toBeNull();
      });

      it('stores a chain that the verifier accepts, read page by page', async () => {
        for (let i = 0; i < 5; i++) {
          const r = await submitted(store);
          await store.mutateRequest(r.id, approveBy(carol));
        }
        await store.appendAudit([auditDraft('gateway.stopped', null)]);

        const verifier = createChainVerifier();
        let last: AuditEvent | undefined;
        for (let from = 1; ; ) {
          const page = await store.readAudit(from, 4);
          if (page.length === 0) break;
          for (const e of page) expect(verifier.push(e)).toBeNull();
          last = page[page.length - 1];
          from = (last?.seq ?? from) + 1;
        }
        expect(verifier.finish()).toEqual({ ok: true, count: 11, head: last?.hash });
      });
    });
  });
}
