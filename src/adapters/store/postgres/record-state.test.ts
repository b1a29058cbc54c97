/**
 * A request row on PostgreSQL keeps its record as inserted and, after a
 * transition that kept the fixed fields, that transition's state beside it
 * (../record-parts.ts): on each path a change takes (the statement on the
 * known head, a batch's deferred rows, a row read under its lock), what is
 * read back is the record as it now is, from this store and from another.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition, type RequestRecord } from '../../../core/request.ts';
import { at, auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('postgres request rows', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    await (await createPostgresStore({ url: db!.url })).close();
    admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });
  const row = async (id: string) =>
    (await admin.query<{ status: string; version: number; record: string; state: string | null }>('SELECT status, version, record, state FROM requests WHERE id = $1', [id])).rows[0]!;
  /** The outcome drops the run's deadline: a field a transition leaves out must be gone when read back. */
  const outcome = (r: RequestRecord): RequestRecord => {
    const { runDeadline: _, ...rest } = transition(r, 'succeeded', FIXTURE_TIME, { result: { status: 200, body: { ok: true } } });
    return rest as RequestRecord;
  };

  it('writes an outcome as the state it changed, and reads back the record as it now is', async () => {
    const store = await createPostgresStore({ url: db!.url, poolSize: 4 });
    const other = await createPostgresStore({ url: db!.url, poolSize: 2 });
    try {
      const executing = () => ({ ...requestRecord({ status: 'executing', expiresAt: null }), runDeadline: at(60) });
      // Alone (its row in the statement on the known head), in a batch with another write, and not known (read under its lock).
      const [alone, batched, unknown] = [executing(), executing(), executing()];
      for (const r of [alone, batched, unknown]) await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
      const inserted = new Map<string, string>();
      for (const r of [alone, batched, unknown]) {
        const { record, state } = await row(r.id);
        expect(state).toBeNull();
        inserted.set(r.id, record);
      }
      // As a use case does: the next record made from the current one, fixed fields copied.
      const write = (r: RequestRecord, known?: RequestRecord) =>
        store.mutateRequest(r.id, (current) => ({ result: null, next: outcome(current), audit: [auditDraft('request.succeeded', r.id)] }), known);
      await write(alone, alone);
      await Promise.all([write(batched, batched), store.insertRequest(requestRecord(), [])]);
      await write(unknown);
      for (const r of [alone, batched, unknown]) {
        const written = await row(r.id);
        expect(written).toMatchObject({ status: 'succeeded', version: r.version + 1, record: inserted.get(r.id) });
        expect(JSON.parse(written.state!)).toMatchObject({ status: 'succeeded', version: r.version + 1, result: { status: 200, body: { ok: true } } });
        for (const reader of [store, other]) {
          const got = await reader.getRequest(r.id);
          expect(got).toEqual(outcome(r));
          expect(got && 'runDeadline' in got).toBe(false);
        }
      }
      expect((await other.listRequests({ status: ['succeeded'] })).map((r) => r.id).sort()).toEqual([alone.id, batched.id, unknown.id].sort());
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('writes the whole record again when a change reaches past the state (never made by a transition)', async () => {
    const store = await createPostgresStore({ url: db!.url, poolSize: 4 });
    const other = await createPostgresStore({ url: db!.url, poolSize: 2 });
    try {
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
      const approved = transition(r, 'approved', FIXTURE_TIME);
      await store.mutateRequest(r.id, (current) => ({ result: null, next: transition(current, 'approved', FIXTURE_TIME), audit: [auditDraft('request.approved', r.id)] }));
      expect((await row(r.id)).state).not.toBeNull();
      expect(await other.getRequest(r.id)).toEqual(approved);
      // Over what this store knows (deferred), and then over what is stored (read under the lock).
      const moved = { ...approved, context: { surface: 'cli' }, version: approved.version + 1 };
      await store.mutateRequest(r.id, () => ({ result: moved, next: moved, audit: [auditDraft('request.moved', r.id)] }), approved);
      expect(await row(r.id)).toMatchObject({ state: null, record: JSON.stringify({ ...moved, reviews: undefined }) });
      expect(await other.getRequest(r.id)).toEqual(moved);
      const again = { ...moved, action: { ...moved.action, reason: 'another reason' }, version: moved.version + 1 };
      await store.mutateRequest(r.id, (current) => ({ result: null, next: { ...current, action: again.action, version: again.version }, audit: [] }));
      expect((await row(r.id)).state).toBeNull();
      expect(await other.getRequest(r.id)).toEqual(again);
      // And a transition over that: its state alone again.
      await store.mutateRequest(r.id, (current) => ({ result: null, next: transition(current, 'executing', FIXTURE_TIME), audit: [] }));
      expect((await row(r.id)).state).not.toBeNull();
      expect(await other.getRequest(r.id)).toEqual(transition(again, 'executing', FIXTURE_TIME));
    } finally {
      await other.close();
      await store.close();
    }
  });
});
