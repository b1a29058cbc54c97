/**
 * `npm run bench:escalation-sweep`: what one pass of the escalation sweep costs
 * with many requests pending. The sweep runs every second on one process of a
 * store; it used to page through every pending request (listRequests, 200 a
 * page, each record decoded) to find the few with a rung due, and now asks the
 * store for those by an indexed column (escalationsDue). Both ways are timed
 * here on the same store in the same run: the paging walk as the baseline,
 * finding the same requests, and the indexed query. BENCH_SWEEP_PENDING
 * requests are pending (every 200th with a rung due), on SQLite (a file,
 * synchronous = normal) and PostgreSQL (a throwaway database on DATABASE_URL's
 * server). Best of BENCH_SWEEP_ROUNDS.
 *
 * Environment: BENCH_SWEEP_PENDING (20000), BENCH_SWEEP_ROUNDS (5), BENCH_SWEEP_STORES (sqlite,postgres).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore } from '../src/adapters/store/postgres/index.ts';
import { createSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import { dueRungs } from '../src/core/escalation.ts';
import type { Store } from '../src/core/ports.ts';
import { approveDecision, at, auditDraft, FIXTURE_TIME, requestRecord } from '../test/support/fixtures.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const PENDING = Number(process.env['BENCH_SWEEP_PENDING'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_SWEEP_ROUNDS'] ?? 5);
const STORES = (process.env['BENCH_SWEEP_STORES'] ?? 'sqlite,postgres').split(',');
const EVERY = 200;
const now = new Date(FIXTURE_TIME.getTime() + 120_000);
const ladder = { ...approveDecision(), escalations: [{ key: 'prod-writes#1', rule: 'prod-writes', afterSeconds: 60, groups: ['dba'], principals: [] }] };

async function fill(store: Store): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < PENDING; i = next++) {
        const r = requestRecord({ id: `req_${String(i).padStart(8, '0')}`, createdAt: at(0), expiresAt: at(3600), ...(i % EVERY === 0 ? { decision: ladder } : {}) });
        await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
      }
    }),
  );
}

/** The old pass's search: every pending request, page by page, each checked for a due rung. */
async function paging(store: Store): Promise<string[]> {
  const due: string[] = [];
  for (let before: string | undefined; ; ) {
    const rows = await store.listRequests({ status: ['pending'], limit: 200, ...(before ? { before } : {}) });
    for (const r of rows) if (dueRungs(r, now).length > 0) due.push(r.id);
    if (rows.length < 200) return due;
    before = rows[rows.length - 1]!.id;
  }
}

async function indexed(store: Store): Promise<string[]> {
  return store.escalationsDue(now, PENDING);
}

async function best(what: () => Promise<string[]>): Promise<{ ms: number; cpuMs: number; found: number }> {
  let out = { ms: Infinity, cpuMs: Infinity, found: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const found = (await what()).length;
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (ms < out.ms) out = { ms, cpuMs: (used.user + used.system) / 1000, found };
  }
  return out;
}

async function measure(label: string, store: Store): Promise<string[]> {
  const started = performance.now();
  await fill(store);
  process.stderr.write(`bench: ${label}: ${PENDING} pending requests written in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const [old, fresh] = [await best(() => paging(store)), await best(() => indexed(store))];
  if (old.found !== fresh.found) throw new Error(`${label}: the two searches found ${old.found} and ${fresh.found} requests`);
  const line = (name: string, r: typeof old) => `  ${label.padEnd(10)} ${name.padEnd(34)} ${r.ms.toFixed(1).padStart(9)} ms ${r.cpuMs.toFixed(1).padStart(9)} ms CPU   ${r.found} due`;
  return [line('paging every pending (baseline)', old), line('escalationsDue (indexed)', fresh), `  ${label.padEnd(10)} ${'ratio'.padEnd(34)} ${(old.ms / fresh.ms).toFixed(0).padStart(9)} x`];
}

const out: string[] = [];
if (STORES.includes('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-sweep-'));
  const store = createSqliteStore({ path: join(dir, 'store.db'), synchronous: 'normal' });
  try {
    out.push(...(await measure('sqlite', store)));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
if (STORES.includes('postgres')) {
  const db = await createTestDatabase();
  if (!db) throw new Error('no PostgreSQL server (DATABASE_URL)');
  const store = await createPostgresStore({ url: db.url, poolSize: 10 });
  try {
    out.push(...(await measure('postgres', store)));
  } finally {
    await store.close();
    await db.drop();
  }
}
process.stdout.write(`\nEscalation sweep, one pass, ${PENDING} pending requests (every ${EVERY}th with a rung due), best of ${ROUNDS}\n  command  npm run bench:escalation-sweep\n${out.join('\n')}\n`);
