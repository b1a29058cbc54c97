/**
 * `npm run bench:notify`: how long a waiter on one replica waits to hear of a
 * change published on another, over PostgreSQL LISTEN/NOTIFY. Two notifier
 * instances, each with its own connection (as two replicas have), on a
 * throwaway database of the server at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres). Timed: from publish on A to
 * the listener on B, including B's read of the request (from memory here, so
 * what is timed is the notification path, not a store query).
 * BENCH_NOTIFICATIONS (default 500) one after another, then the same number
 * with 16 in flight. Exits 1 if a notification is lost.
 */
import { createPostgresNotifier } from '../src/adapters/notifier/postgres.ts';
import type { RequestRecord } from '../src/core/request.ts';
import { requestRecord } from '../test/support/fixtures.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const N = Number(process.env['BENCH_NOTIFICATIONS'] ?? 500);
const db = await createTestDatabase();
if (!db) throw new Error('no PostgreSQL server');
const rows = new Map<string, RequestRecord>();
const load = async (id: string) => rows.get(id);
const a = await createPostgresNotifier({ url: db.url, load });
const b = await createPostgresNotifier({ url: db.url, load });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Publishes one change on A and resolves with the ms until B's listener has it. */
function once(): Promise<number> {
  const r = requestRecord();
  rows.set(r.id, r);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`notification for ${r.id} lost`)), 5000);
    const started = performance.now();
    const stop = b.subscribe(r.id, () => {
      clearTimeout(timer);
      stop();
      rows.delete(r.id);
      resolve(performance.now() - started);
    });
    a.publish(r);
  });
}

async function phase(name: string, inFlight: number): Promise<void> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < N) times.push(await once());
    }),
  );
  times.sort((x, y) => x - y);
  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(`${name.padEnd(14)} n=${times.length}  p50 ${f(percentile(times, 50))}  p99 ${f(percentile(times, 99))}  max ${f(times.at(-1)!)}`);
}

try {
  for (let i = 0; i < 50; i++) await once(); // warm-up
  await phase('sequential', 1);
  await phase('16 in flight', 16);
} finally {
  await a.close();
  await b.close();
  await db.drop();
}
