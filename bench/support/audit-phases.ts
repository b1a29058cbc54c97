/**
 * The measured phases of `npm run bench:audit` (bench/audit.ts) and what they share: timing a stretch of work
 * (wall, this process's CPU, other processes' CPU), the rows a store wrote, writers calling concurrently, the
 * transactions a group commit ran, and the in-memory cost of the chain, canonical JSON, SHA-256 and the Merkle tree.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGroupCommit } from '../../src/adapters/store/sqlite/group-commit.ts';
import { migrate } from '../../src/adapters/store/sqlite/schema.ts';
import { chainEvent, type AuditDraft } from '../../src/core/audit.ts';
import { canonicalJson, sha256Hex } from '../../src/core/digest.ts';
import { createFrontier, leafHash } from '../../src/core/merkle/index.ts';
import type { Store } from '../../src/core/ports.ts';
import { cpuWindow } from './cpu.ts';
import { watchTransactions, type TransactionLog } from './sqlite-transactions.ts';

// The store's own statement: the transaction watcher counts its runs.
const INSERT_SQL = 'INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?)';
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

// A full collection between phases, so one phase's garbage is not collected on the next one's clock.
setFlagsFromString('--expose-gc');
export const gc = runInNewContext('gc') as () => void;

/** One measured stretch: wall time, this process's CPU time, and the CPU other processes used meanwhile. */
export interface Timing {
  readonly events: number;
  readonly ms: number;
  readonly cpuMs: number;
  readonly otherCores: number;
}

export async function timed(events: number, run: () => unknown): Promise<Timing> {
  gc();
  const window = cpuWindow({ bench: 'self' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const share = window.end();
  return { events, ms, cpuMs: (cpu.user + cpu.system) / 1000, otherCores: share.otherCpuSeconds / share.seconds };
}

/** Two stretches back to back, as one. */
export const plus = (x: Timing, y: Timing): Timing => ({
  events: x.events,
  ms: x.ms + y.ms,
  cpuMs: x.cpuMs + y.cpuMs,
  otherCores: (x.otherCores * x.ms + y.otherCores * y.ms) / (x.ms + y.ms),
});

export const perSecond = (t: Timing) => (t.events / t.ms) * 1000;
export const usPerEvent = (t: Timing) => (t.ms * 1000) / t.events;
export const cpuUsPerEvent = (t: Timing) => (t.cpuMs * 1000) / t.events;

export type Row = [seq: number, time: string, type: string, requestId: string | null, actor: string | null, body: string, hash: string];

/** A fresh file with the store's schema and pragmas, for plain inserts. */
export function openPlain(path: string, synchronous: 'full' | 'normal'): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/** The rows a store wrote, exactly as stored. */
export function storedRows(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT seq, time, type, request_id, actor, body, hash FROM audit_events ORDER BY seq').raw(true).all() as Row[];
  } finally {
    db.close();
  }
}

/** Call sizes of 2, 1, 2, 1, … events (as the gateway's writes carry 1–3), summing to `total`. */
export function callSizes(total: number): number[] {
  const sizes: number[] = [];
  for (let left = total, i = 0; left > 0; i++) {
    const k = Math.min(i % 2 === 0 ? 2 : 1, left);
    sizes.push(k);
    left -= k;
  }
  return sizes;
}

export function split<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const k of sizes) {
    out.push(items.slice(at, at + k));
    at += k;
  }
  return out;
}

/** `writers` concurrent loops, each awaiting one call at a time; calls are taken in order. */
export async function concurrently<T>(calls: readonly T[], writers: number, call: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const loop = async () => {
    for (let c = next++; c < calls.length; c = next++) await call(calls[c]!);
  };
  await Promise.all(Array.from({ length: Math.min(writers, calls.length) }, loop));
}

export function describeBatches(events: readonly number[]): string {
  if (events.length === 0) return 'none';
  const sorted = [...events].sort((a, b) => a - b);
  const mean = events.reduce((a, b) => a + b, 0) / events.length;
  return `${fmt(events.length)} transactions, events per transaction mean ${fmt(mean, 1)}, median ${sorted[Math.floor(sorted.length / 2)]}, min ${sorted[0]}, max ${sorted[sorted.length - 1]}`;
}

/** Phase A: appendAudit from concurrent writers; returns the timing and the transactions the group commit ran. */
export async function appendPhase(store: Store, calls: readonly AuditDraft[][], writers: number): Promise<{ timing: Timing; tx: TransactionLog }> {
  const events = calls.reduce((a, c) => a + c.length, 0);
  const watch = watchTransactions();
  let tx: TransactionLog | undefined;
  try {
    const timing = await timed(events, () => concurrently(calls, writers, (drafts) => store.appendAudit(drafts)));
    tx = watch.stop();
    return { timing, tx };
  } finally {
    if (!tx) watch.stop();
  }
}

/** Phase B: the rows in transactions of the given sizes, in a tight synchronous loop. */
export function plainPhase(db: Database.Database, rows: readonly Row[], txSizes: readonly number[]): Promise<Timing> {
  const insert = db.prepare(INSERT_SQL);
  return timed(rows.length, () => {
    let r = 0;
    for (const size of txSizes) {
      db.exec('BEGIN IMMEDIATE');
      for (let k = 0; k < size; k++) insert.run(...rows[r++]!);
      db.exec('COMMIT');
    }
    if (r !== rows.length) throw new Error(`plain inserts wrote ${r} rows of ${rows.length}`);
  });
}

/** Phase B': the rows through the store's own group commit, from the same writers with the same calls. */
export async function plainGroupCommitPhase(db: Database.Database, calls: readonly Row[][], writers: number): Promise<{ timing: Timing; tx: TransactionLog }> {
  const insert = db.prepare(INSERT_SQL);
  const write = createGroupCommit(db, (cause) => new Error(`group commit broken: ${String(cause)}`));
  const events = calls.reduce((a, c) => a + c.length, 0);
  const watch = watchTransactions();
  let tx: TransactionLog | undefined;
  try {
    const timing = await timed(events, () =>
      concurrently(calls, writers, (rows) =>
        write(() => {
          for (const row of rows) insert.run(...row);
        }),
      ),
    );
    tx = watch.stop();
    return { timing, tx };
  } finally {
    if (!tx) watch.stop();
  }
}

export function count(db: Database.Database): number {
  return db.prepare('SELECT COUNT(*) FROM audit_events').pluck().get() as number;
}

/** Where the store's per-event time goes outside SQLite: the pure computations, in memory. */
export function computeCosts(drafts: readonly AuditDraft[]): { chain: number; canonical: number; sha: number; merkle: number } {
  const us = (ms: number) => (ms * 1000) / drafts.length;
  const run = (fn: () => void) => {
    fn(); // warm
    gc();
    const t0 = performance.now();
    fn();
    return us(performance.now() - t0);
  };
  const bodies: string[] = [];
  let head: { seq: number; hash: string } | null = null;
  for (const d of drafts) {
    const e = chainEvent(head, d);
    bodies.push(e.body);
    head = { seq: e.seq, hash: e.hash };
  }
  const chain = run(() => {
    let h: { seq: number; hash: string } | null = null;
    for (const d of drafts) {
      const e = chainEvent(h, d);
      h = { seq: e.seq, hash: e.hash };
    }
  });
  const canonical = run(() => {
    let seq = 0;
    for (const d of drafts) canonicalJson({ seq: ++seq, time: d.time, type: d.type, requestId: d.requestId, actor: d.actor, data: d.data, prev: '0'.repeat(64) });
  });
  const sha = run(() => {
    for (const b of bodies) sha256Hex(b);
  });
  const merkle = run(() => {
    const f = createFrontier();
    for (const b of bodies) f.append(leafHash(b));
  });
  return { chain, canonical, sha, merkle };
}
