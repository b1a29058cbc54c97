/**
 * The review keys of a database upgraded from before they were kept: the reviews already stored get theirs (a
 * person's two reviews from then keep the first's), so that person cannot review that request again under a third id.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import type { Mutation } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Review } from '../../../core/review.ts';
import { approveDecision, at, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';
import { MIGRATIONS } from './schema.ts';
import { reviewKeysSchema } from './reviews.ts';

const db = await createTestDatabase();
afterAll(async () => db?.drop());

const approvalBy = (id: string) => (current: RequestRecord): Mutation<null> => {
  const review: Review = { requestId: current.id, reviewer: { id, kind: 'human', groups: ['sre'], email: id }, verdict: 'approve', comment: '', digest: current.digest, createdAt: at(10 + current.reviews.length) };
  return { result: null, next: { ...current, reviews: [...current.reviews, review], version: current.version + 1 }, review, audit: [] };
};

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
