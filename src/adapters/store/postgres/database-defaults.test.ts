/**
 * The store on a database whose defaults were tuned otherwise. A write the
 * store reports done must survive a crash of the database: the gateway acts
 * on it (runs the action it claimed, forgets a delivery it made), yet
 * synchronous_commit = off acknowledges a COMMIT before its WAL reaches
 * disk. And its writes wait for each other on the audit head, which a
 * stricter default isolation level would turn into serialization failures.
 * Its own database, as the tests change its defaults.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutboxRouter } from '../../../core/outbox.ts';
import { transition } from '../../../core/request.ts';
import { auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();

async function sql(text: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('postgres store on a database tuned otherwise', () => {
  afterAll(() => db?.drop());

  it('commits durably (synchronous_commit on) on a database whose default is off: transactions and single statements alike', async () => {
    await sql(`ALTER DATABASE ${new URL(db!.url).pathname.slice(1)} SET synchronous_commit = off`);
    const router: OutboxRouter = (e) => (e.requestId === null ? [] : [{ channel: 'slack', event: e.type, requestId: e.requestId, payload: {}, createdAt: e.time }]);
    const store = await createPostgresStore({ url: db!.url, poolSize: 2, outbox: router });
    try {
      // What each write ran with, as the server saw it.
      await sql(`CREATE TABLE seen (what text, setting text);
                 CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN INSERT INTO seen VALUES (TG_TABLE_NAME || ' ' || TG_OP, current_setting('synchronous_commit')); RETURN NULL; END $$;
                 CREATE TRIGGER note AFTER INSERT OR UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION note();
                 CREATE TRIGGER note AFTER INSERT OR UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION note();
                 CREATE TRIGGER note AFTER INSERT OR UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION note();`);
      expect(await sql('SHOW synchronous_commit')).toEqual([{ synchronous_commit: 'off' }]);

      const r = requestRecord({ status: 'approved' });
      await store.insertRequest(r, [auditDraft('request.created', r.id)]);
      await store.mutateRequest(r.id, (c) => ({ result: null, next: transition(c, 'executing', FIXTURE_TIME), audit: [auditDraft('execution.started', c.id)] }));
      const [d] = await store.claimDeliveries(new Date(FIXTURE_TIME.getTime() + 3600_000), 5, 60_000);
      await store.completeDelivery(d!.id);

      const seen = await sql('SELECT what, setting FROM seen');
      expect(new Set(seen.map((s) => s['what']))).toEqual(new Set(['requests INSERT', 'requests UPDATE', 'audit_events INSERT', 'outbox INSERT', 'outbox UPDATE']));
      expect(new Set(seen.map((s) => s['setting']))).toEqual(new Set(['on']));
    } finally {
      await store.close();
    }
  });

  it('lets replicas writing at once wait their turn on a database whose default isolation is repeatable read', async () => {
    await sql(`ALTER DATABASE ${new URL(db!.url).pathname.slice(1)} SET default_transaction_isolation = 'repeatable read'`);
    const [a, b] = [await createPostgresStore({ url: db!.url, poolSize: 2 }), await createPostgresStore({ url: db!.url, poolSize: 2 })];
    try {
      const before = (await a.treeHead()).size;
      const writes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).appendAudit([auditDraft('race', null, { i })])));
      expect(writes.filter((w) => w.status === 'rejected')).toEqual([]);
      expect((await b.treeHead()).size).toBe(before + 20);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
