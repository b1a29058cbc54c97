/**
 * `npm run bench:pg-store`: does group commit pay in the PostgreSQL store?
 * N insertRequest calls (each with one audit event, so each takes the audit
 * head lock), CONCURRENCY in flight at a time, through one store with and
 * without group commit, then through two stores (two replicas) at once.
 * Each run gets a fresh database on the server DATABASE_URL names (default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 *
 * Environment: BENCH_PG_REQUESTS (2000), BENCH_PG_CONCURRENCY (64), BENCH_PG_POOL (10).
 */
import { createPostgresStore } from '../src/adapters/store/postgres/index.ts';
import type { Store } from '../src/core/ports.ts';
import { auditDraft, requestRecord } from '../test/support/fixtures.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const N = Number(process.env['BENCH_PG_REQUESTS'] ?? 2000);
const CONCURRENCY = Number(process.env['BENCH_PG_CONCURRENCY'] ?? 64);
const POOL = Number(process.env['BENCH_PG_POOL'] ?? 10);

async function drive(stores: Store[]): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = next++; i < N; i = next++) {
        const r = requestRecord({ id: `req_${i}` });
        await stores[w % stores.length]!.insertRequest(r, [auditDraft('request.created', r.id)]);
      }
    }),
  );
  return N / ((performance.now() - started) / 1000);
}

async function run(label: string, replicas: number, groupCommit: boolean): Promise<void> {
  const db = await createTestDatabase();
  if (!db) throw new Error('no PostgreSQL server');
  const stores: Store[] = [];
  try {
    for (let i = 0; i < replicas; i++) stores.push(await createPostgresStore({ url: db.url, poolSize: POOL, groupCommit }));
    const opsPerSecond = await drive(stores);
    const size = (await stores[0]!.treeHead()).size;
    if (size !== N) throw new Error(`${label}: ${size} events, expected ${N}`);
    console.log(`${label.padEnd(40)} ${opsPerSecond.toFixed(0).padStart(7)} insertRequest/s`);
  } finally {
    for (const s of stores) await s.close();
    await db.drop();
  }
}

console.log(`${N} insertRequest, ${CONCURRENCY} in flight, pool ${POOL}`);
for (let round = 0; round < 2; round++) {
  await run('1 replica, group commit', 1, true);
  await run('1 replica, a transaction per write', 1, false);
  await run('2 replicas, group commit', 2, true);
  await run('2 replicas, a transaction per write', 2, false);
}
