/**
 * Reviews on PostgreSQL where replicas meet: a review waiting for the request's row lock while another replica
 * records one reads that one once it holds the lock (its statement's snapshot predates it); and the review keys of a
 * database upgraded from before they were kept: the reviews already stored get theirs (a person's two reviews from
 * then keep the first's), so that person cannot review that request again under a third id.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import type { Mutation } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Review } from '../../../core/review.ts';
import { approveDecision, at, auditDraft, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';
import { MIGRATIONS } from './schema.ts';
import { reviewKeysSchema } from './reviews.ts';

const db = await createTestDatabase();
afterAll(async () => db?.drop());

const approvalBy = (id: string) => (current: RequestRecord): Mutation<null> => {
  const review: Review = { requestId: current.id, reviewer: { id, kind: 'human', groups: ['sre'], email: id }, verdict: 'approve', comment: '', digest: current.digest, createdAt: at(10 + current.reviews.length) };
  return { result: null, next: { ...current, reviews: [...current.reviews, review], version: current.version + 1 }, review, audit: [auditDraft('review.recorded', current.id)] };
};

/** Resolves once `n` other sessions of the database wait for a lock. */
async function lockWaiters(c: pg.Client, n: number): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 10_000; await new Promise((res) => setTimeout(res, 10))) {
    const { rows } = await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
    if (rows.length === n) return;
  }
  throw new Error(`${n} sessions never waited for a lock`);
}

it.skipIf(!db)('a review that waited for the row lock reads the review committed meanwhile on another replica', async () => {
  const [a, b] = [await createPostgresStore({ url: db!.url, poolSize: 2 }), await createPostgresStore({ url: db!.url, poolSize: 2 })];
  const holder = new pg.Client({ connectionString: db!.url });
  await holder.connect();
  try {
    const r = requestRecord({ decision: approveDecision(['sre'], 2) });
    await a.insertRequest(r, []);
    // A holds the request's row and waits for the audit head; B's statement begins meanwhile and waits for the row.
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM audit_head FOR UPDATE');
    const first = a.mutateRequest(r.id, approvalBy('gina@example.com'));
    await lockWaiters(holder, 1);
    let seen: string[] = [];
    const second = b.mutateRequest(r.id, (current) => ((seen = current.reviews.map((v) => v.reviewer.id)), approvalBy('hal@example.com')(current)));
    await lockWaiters(holder, 2);
    await holder.query('COMMIT');
    await Promise.all([first, second]);
    expect(seen).toEqual(['gina@example.com']);
    expect((await a.getRequest(r.id))?.reviews.map((v) => v.reviewer.id)).toEqual(['gina@example.com', 'hal@example.com']);
  } finally {
    await holder.end();
    await Promise.all([a.close(), b.close()]);
  }
});

it.skipIf(!db)('upgrades a database from before review keys: the stored reviews get theirs, and the same person is refused again', async () => {
  const first = await createPostgresStore({ url: db!.url, poolSize: 2 });
  const r = requestRecord({ decision: approveDecision(['sre'], 3) });
  await first.insertRequest(r, []);
  await first.mutateRequest(r.id, approvalBy('dana@example.com'));
  await first.close();
  // As a gateway before the table wrote them: the table gone, and a second review of dana's under a sub-address.
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  const step = MIGRATIONS.indexOf(reviewKeysSchema) + 1;
  expect(step).toBeGreaterThan(0);
  await c.query(`DROP TABLE review_keys; DELETE FROM schema_migrations WHERE version = ${step}`);
  const second: Review = { requestId: r.id, reviewer: { id: 'dana+old@example.com', kind: 'human', groups: ['sre'], email: 'dana+old@example.com' }, verdict: 'approve', comment: '', digest: r.digest, createdAt: at(11) };
  await c.query('INSERT INTO reviews (request_id, reviewer, verdict, created_at, record) VALUES ($1, $2, $3, $4, $5)', [r.id, second.reviewer.id, 'approve', second.createdAt, JSON.stringify(second)]);
  await c.end();

  const upgraded = await createPostgresStore({ url: db!.url, poolSize: 2 });
  try {
    await expect(upgraded.mutateRequest(r.id, approvalBy('dana+new@example.com'))).rejects.toMatchObject({ code: 'ALREADY_REVIEWED' });
    await upgraded.mutateRequest(r.id, approvalBy('erin@example.com'));
    expect((await upgraded.getRequest(r.id))?.reviews.map((v) => v.reviewer.id)).toEqual(['dana@example.com', 'dana+old@example.com', 'erin@example.com']);
  } finally {
    await upgraded.close();
  }
});
