/**
 * `npm run bench:request-write`: what one request write costs the store, the
 * part of every submitted action that indexes its effect, rules and tags for
 * audit search included. N insertRequest calls (each with two audit events,
 * as a held request has), one at a time and then CONCURRENCY in flight,
 * through the SQLite store (a file, synchronous = normal) and the PostgreSQL
 * store (a fresh database on DATABASE_URL's server, default
 * postgres://postgres@127.0.0.1:5432/postgres, dropped afterwards). Requests
 * spread over a few connections with tags, list tags among them, so they
 * share a handful of term sets as real traffic does. Best of ROUNDS for the
 * rates; the gateway process's CPU per write (process.cpuUsage) and what the
 * store grows by per request are less at the mercy of a shared machine:
 * SQLite's file (pages in use), PostgreSQL's database size, and, when the
 * server runs on this machine, the CPU of its backends serving the store.
 *
 * Environment: BENCH_WRITE_REQUESTS (3000), BENCH_WRITE_CONCURRENCY (32), BENCH_WRITE_ROUNDS (3),
 * BENCH_WRITE_STORES (sqlite,postgres).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore } from '../src/adapters/store/postgres/index.ts';
import { createSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import type { ConnectionInfo } from '../src/core/connection.ts';
import type { Store } from '../src/core/ports.ts';
import { approveDecision, auditDraft, requestRecord } from '../test/support/fixtures.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const N = Number(process.env['BENCH_WRITE_REQUESTS'] ?? 3000);
const CONCURRENCY = Number(process.env['BENCH_WRITE_CONCURRENCY'] ?? 32);
const ROUNDS = Number(process.env['BENCH_WRITE_ROUNDS'] ?? 3);
const STORES = (process.env['BENCH_WRITE_STORES'] ?? 'sqlite,postgres').split(',');

const connections: ConnectionInfo[] = Array.from({ length: 6 }, (_, i) => ({
  name: `db-${i}`,
  kind: 'postgres' as const,
  tags: (i % 2 === 0 ? { env: 'prod', data: 'pii', team: `team-${i}`, compliance: ['soc2', 'gdpr'] } : { env: 'staging', team: `team-${i}` }) as ConnectionInfo['tags'],
}));

function request(i: number) {
  const c = connections[i % connections.length]!;
  const r = requestRecord({ id: `req_${i}`, connection: c, action: { ...requestRecord().action, connection: c.name }, decision: approveDecision() });
  return { r, audit: [auditDraft('request.submitted', r.id), auditDraft('request.held', r.id)] };
}

/** Inserts/s: `inFlight` callers, each waiting for its write before the next. Adds the CPU it took to `cpu` (µs). */
async function drive(store: Store, inFlight: number, offset: number, cpu = { us: 0 }): Promise<number> {
  let next = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < N; i = next++) {
        const { r, audit } = request(offset + i);
        await store.insertRequest(r, audit);
      }
    }),
  );
  const used = process.cpuUsage(cpuBefore);
  cpu.us += used.user + used.system;
  return N / ((performance.now() - started) / 1000);
}

/** What a store's storage holds now, in bytes, and (PostgreSQL on this machine) the CPU its backends used so far, by pid (µs). */
type Size = () => Promise<{ bytes: number; serverCpu?: Map<number, number> }>;

/** User + system CPU of a local process in µs, or undefined (not on this machine, or gone). */
function processCpuUs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 10 ms.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function measure(label: string, open: () => Promise<{ store: Store; size: Size; done(): Promise<void> }>): Promise<string[]> {
  const best = { one: 0, many: 0, cpuUs: Infinity, bytes: Infinity, serverUs: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const { store, size, done } = await open();
    try {
      // Warm up: prepared statements, caches, the first pages of each table.
      await drive(store, 1, 1_000_000);
      const before = await size();
      const cpu = { us: 0 };
      best.one = Math.max(best.one, await drive(store, 1, 0, cpu));
      best.many = Math.max(best.many, await drive(store, CONCURRENCY, N, cpu));
      const after = await size();
      best.cpuUs = Math.min(best.cpuUs, cpu.us / (2 * N));
      best.bytes = Math.min(best.bytes, (after.bytes - before.bytes) / (2 * N));
      if (after.serverCpu?.size) {
        let used = 0;
        for (const [pid, us] of after.serverCpu) used += us - (before.serverCpu?.get(pid) ?? 0);
        best.serverUs = Math.min(best.serverUs, used / (2 * N));
      }
    } finally {
      await store.close();
      await done();
    }
  }
  return [
    `  ${`${label}, one at a time`.padEnd(40)} ${best.one.toFixed(0).padStart(7)} insertRequest/s  ${(1000 / best.one).toFixed(3).padStart(7)} ms each`,
    `  ${`${label}, ${CONCURRENCY} in flight`.padEnd(40)} ${best.many.toFixed(0).padStart(7)} insertRequest/s`,
    `  ${`${label}, per request`.padEnd(40)} ${best.cpuUs.toFixed(0).padStart(7)} µs gateway CPU  ${best.bytes.toFixed(0).padStart(6)} B stored${Number.isFinite(best.serverUs) ? `  ${best.serverUs.toFixed(0).padStart(5)} µs server CPU` : ''}`,
  ];
}

const lines: string[] = [];
if (STORES.includes('sqlite')) {
  lines.push(
    ...(await measure('sqlite', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cs-write-'));
      const path = join(dir, 'countersign.db');
      const size: Size = async () => {
        const side = new Database(path, { readonly: true });
        try {
          const pages = (side.pragma('page_count', { simple: true }) as number) - (side.pragma('freelist_count', { simple: true }) as number);
          return { bytes: pages * (side.pragma('page_size', { simple: true }) as number) };
        } finally {
          side.close();
        }
      };
      return { store: createSqliteStore({ path }), size, done: async () => rmSync(dir, { recursive: true, force: true }) };
    })),
  );
}
if (STORES.includes('postgres')) {
  lines.push(
    ...(await measure('postgres', async () => {
      const db = await createTestDatabase();
      if (!db) throw new Error('no PostgreSQL server');
      const size: Size = async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        try {
          // Its own database only: the WAL is the whole server's, which other databases write too.
          const { rows } = await c.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
          const pids = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
          const serverCpu = new Map<number, number>();
          for (const { pid } of pids.rows) {
            const us = processCpuUs(pid);
            if (us !== undefined) serverCpu.set(pid, us);
          }
          return { bytes: Number(rows[0]!.bytes), serverCpu };
        } finally {
          await c.end();
        }
      };
      return { store: await createPostgresStore({ url: db.url, poolSize: 10, groupCommit: true }), size, done: () => db.drop() };
    })),
  );
}
console.log(`Countersign request write benchmark
  command   npm run bench:request-write   (BENCH_WRITE_REQUESTS=${N}, best of ${ROUNDS})
  machine   ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), node ${process.version}
${lines.join('\n')}`);
