/**
 * `npm run bench:audit`: the cost of the audit trail, measured in one process.
 *
 *   A   appendAudit through the real SQLite store (hash chain + Merkle nodes,
 *       group commit, WAL), from many concurrent writers the way the gateway's
 *       requests arrive; and A1, one event at a time, each awaited.
 *   B   plain INSERTs of the same rows (the body and hash phase A stored, no
 *       chain computation, no Merkle) into a fresh file with the same schema
 *       (the store's migrations), in transactions of exactly the sizes phase A
 *       committed; B' the same rows through the same group commit and writers
 *       (so A / B' is the chain + Merkle cost alone); B1 one row per transaction.
 *   C   export a bundle of phase A's log (planBundle + writeBundle, checkpoints
 *       signed every BENCH_AUDIT_CHECKPOINT_EVERY events as a loaded gateway
 *       does), then readBundle + verifyBundle of the .tar and of a directory.
 *
 * Environment: BENCH_AUDIT_EVENTS (200000), BENCH_AUDIT_WRITERS (50),
 * BENCH_AUDIT_SEQUENTIAL_EVENTS (20000), BENCH_AUDIT_CHECKPOINT_EVERY (1000),
 * BENCH_AUDIT_VERIFY_RUNS (3), BENCH_AUDIT_BUDGET_SECONDS (900),
 * BENCH_SQLITE_SYNCHRONOUS (normal | full).
 *
 * Exits 0 when the measurement completed, whatever the figures; 1 when it
 * could not measure (a check failed, the bundle did not verify, the run overran).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createCheckpointSigner } from '../src/adapters/signer/checkpoint-signer.ts';
import { createSqliteStore } from '../src/adapters/store/sqlite/store.ts';
import { readBundle, writeBundle } from '../src/adapters/audit-bundle-files.ts';
import { verifyBundle, type BundleFiles } from '../src/core/audit-bundle.ts';
import { verifyBundleInParallel } from '../src/adapters/verify/parallel-leaves.ts';
import { hashFromHex } from '../src/core/merkle/index.ts';
import { formatCheckpoint } from '../src/core/note.ts';
import { planBundle } from '../src/service/audit-bundle.ts';
import { verifyAudit } from '../src/service/audit-verify.ts';
import {
  appendPhase,
  callSizes,
  computeCosts,
  count,
  cpuUsPerEvent,
  describeBatches,
  openPlain,
  perSecond,
  plainGroupCommitPhase,
  plainPhase,
  plus,
  split,
  storedRows,
  timed,
  usPerEvent,
  type Row,
  type Timing,
} from './support/audit-phases.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { problemLines } from './support/run-main.ts';
import { benchDraft } from './support/audit-drafts.ts';

const TARGETS = { appendRatio: 0.5, verifyPerSecond: 200_000 } as const;

const N = envNumber('BENCH_AUDIT_EVENTS', 200_000, { integer: true, min: 1 });
const WRITERS = envNumber('BENCH_AUDIT_WRITERS', 50, { integer: true, min: 1 });
const SEQUENTIAL = Math.min(envNumber('BENCH_AUDIT_SEQUENTIAL_EVENTS', 20_000, { integer: true, min: 0 }), N);
const CHECKPOINT_EVERY = envNumber('BENCH_AUDIT_CHECKPOINT_EVERY', 1000, { integer: true, min: 1 });
const VERIFY_RUNS = envNumber('BENCH_AUDIT_VERIFY_RUNS', 3, { integer: true, min: 1 });
const BUDGET_SECONDS = envNumber('BENCH_AUDIT_BUDGET_SECONDS', 900, { integer: true, min: 10 });
const SYNCHRONOUS = process.env['BENCH_SQLITE_SYNCHRONOUS'] === 'full' ? 'full' : 'normal';
const ORIGIN = 'bench.countersign.invalid/audit';

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number) => bytes / (1024 * 1024);

const root = mkdtempSync(join(tmpdir(), 'cs-bench-audit-'));
const cleanup = () => rmSync(root, { recursive: true, force: true });

const watchdog = startWatchdog(BUDGET_SECONDS * 1000, cleanup, log, 'BENCH_AUDIT_BUDGET_SECONDS');

async function main(): Promise<number> {
  const problems: string[] = [];
  const t0 = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const store = (name: string) => createSqliteStore({ path: join(root, name, 'countersign.db'), synchronous: SYNCHRONOUS });

  log(`bench: building ${fmt(N)} drafts; files in ${root}`);
  const drafts = Array.from({ length: N }, (_, i) => benchDraft(i, t0));
  const sizes = callSizes(N);
  const calls = split(drafts, sizes);

  // Warm-up: the same code paths on throwaway files, so the JIT has settled before phase A.
  {
    const warm = Math.min(10_000, Math.max(1000, Math.floor(N / 10)));
    const w = store('warm-a');
    const ws = callSizes(warm);
    await appendPhase(w, split(drafts.slice(0, warm), ws), WRITERS);
    await w.close();
    const wdb = openPlain(join(root, 'warm-b', 'plain.db'), SYNCHRONOUS);
    const wrows = storedRows(join(root, 'warm-a', 'countersign.db'));
    await plainPhase(wdb, wrows, ws);
    await plainGroupCommitPhase(wdb, split(wrows.map((r) => [r[0] + warm, ...r.slice(1)] as Row), ws), WRITERS);
    wdb.close();
    rmSync(join(root, 'warm-a'), { recursive: true, force: true });
    rmSync(join(root, 'warm-b'), { recursive: true, force: true });
  }

  // A: the store, concurrent writers.
  log(`bench: A: appendAudit of ${fmt(N)} events from ${WRITERS} concurrent writers (${sizes.length} calls of 1–2 events)`);
  const storeA = store('a');
  const a = await appendPhase(storeA, calls, WRITERS);
  const aTx = a.tx.eventsPerCommit;
  log(`bench: A: ${fmt(perSecond(a.timing))} events/s; ${describeBatches(aTx)}`);
  const head = await storeA.treeHead();
  if (head.size !== N) problems.push(`phase A: the log holds ${head.size} events, expected ${N}`);
  if (a.tx.rolledBack) problems.push(`phase A: ${a.tx.rolledBack} transactions rolled back`);
  if (aTx.reduce((x, y) => x + y, 0) !== N) problems.push(`phase A: the observed transactions hold ${aTx.reduce((x, y) => x + y, 0)} events, expected ${N}`);

  // B: the same rows, plain, in the same transaction sizes.
  const rows = storedRows(join(root, 'a', 'countersign.db'));
  const bodyBytes = rows.reduce((s, r) => s + Buffer.byteLength(r[5]), 0) / rows.length;
  const dataBytes = rows.slice(0, 1000).reduce((s, r) => s + Buffer.byteLength(JSON.stringify((JSON.parse(r[5]) as { data: unknown }).data)), 0) / Math.min(1000, rows.length);
  log(`bench: B: plain INSERTs of the same ${fmt(rows.length)} rows in the same ${fmt(aTx.length)} transactions`);
  const dbB = openPlain(join(root, 'b', 'plain.db'), SYNCHRONOUS);
  const b = await plainPhase(dbB, rows, aTx);
  if (count(dbB) !== N) problems.push(`phase B: ${count(dbB)} rows, expected ${N}`);
  dbB.close();
  log(`bench: B: ${fmt(perSecond(b))} events/s`);

  log(`bench: B': the same rows through the group commit, ${WRITERS} writers, the same calls`);
  const dbB2 = openPlain(join(root, 'b2', 'plain.db'), SYNCHRONOUS);
  const b2 = await plainGroupCommitPhase(dbB2, split(rows, sizes), WRITERS);
  const b2Tx = b2.tx.eventsPerCommit;
  if (count(dbB2) !== N) problems.push(`phase B': ${count(dbB2)} rows, expected ${N}`);
  dbB2.close();
  log(`bench: B': ${fmt(perSecond(b2.timing))} events/s; ${describeBatches(b2Tx)}`);
  rows.length = 0;
  rmSync(join(root, 'b'), { recursive: true, force: true });
  rmSync(join(root, 'b2'), { recursive: true, force: true });

  // A1 / B1: one event per call, each awaited: every event is its own transaction.
  let a1: Timing | undefined;
  let b1: Timing | undefined;
  if (SEQUENTIAL > 0) {
    log(`bench: A1: appendAudit of ${fmt(SEQUENTIAL)} events, one at a time`);
    const storeA1 = store('a1');
    const seqDrafts = drafts.slice(0, SEQUENTIAL);
    a1 = await timed(SEQUENTIAL, async () => {
      for (const d of seqDrafts) await storeA1.appendAudit([d]);
    });
    await storeA1.close();
    log(`bench: A1: ${fmt(perSecond(a1))} events/s`);
    const rows1 = storedRows(join(root, 'a1', 'countersign.db'));
    const dbB1 = openPlain(join(root, 'b1', 'plain.db'), SYNCHRONOUS);
    b1 = await plainPhase(dbB1, rows1, rows1.map(() => 1));
    if (count(dbB1) !== SEQUENTIAL) problems.push(`phase B1: ${count(dbB1)} rows, expected ${SEQUENTIAL}`);
    dbB1.close();
    log(`bench: B1: ${fmt(perSecond(b1))} events/s`);
    rmSync(join(root, 'a1'), { recursive: true, force: true });
    rmSync(join(root, 'b1'), { recursive: true, force: true });
  }

  const costs = computeCosts(drafts.slice(0, Math.min(N, 50_000)));
  drafts.length = 0;
  calls.length = 0;

  // C: checkpoints as a gateway signs them, then export and verify.
  log(`bench: C: signing a checkpoint every ${fmt(CHECKPOINT_EVERY)} events, exporting, verifying`);
  const signer = createCheckpointSigner(join(root, 'keys'), ORIGIN);
  const clock = { now: () => new Date() };
  const signing = await timed(Math.floor((N - 1) / CHECKPOINT_EVERY), async () => {
    for (let size = CHECKPOINT_EVERY; size < N; size += CHECKPOINT_EVERY) {
      const rootHex = await storeA.rootAt(size);
      const { note, keyId } = signer.sign(formatCheckpoint({ origin: ORIGIN, size, rootHash: hashFromHex(rootHex) }));
      await storeA.insertCheckpoint({ size, root: rootHex, keyId, note, createdAt: clock.now().toISOString() });
    }
  });
  const tarPath = join(root, 'bundle.tar');
  const dirPath = join(root, 'bundle-dir');
  let plan: Awaited<ReturnType<typeof planBundle>> | undefined;
  const exportTar = await timed(N, async () => {
    plan = await planBundle({ store: storeA, signer, clock }, {});
    await writeBundle(plan, tarPath);
  });
  const exportDir = await timed(N, () => writeBundle(plan!, dirPath));
  const checkpointsInBundle = plan!.manifest.checkpoints.length;
  const tarBytes = statSync(tarPath).size;

  // Verify the live log too (`countersign audit verify`: the hash chain, from the store).
  const live = await timed(N, async () => {
    const r = await verifyAudit(storeA);
    if (!r.ok || r.count !== N) problems.push(`verifyAudit on the store: ${JSON.stringify(r)}`);
  });
  await storeA.close();

  const checkReport = (what: string, r: ReturnType<typeof verifyBundle>) => {
    if (!r.ok || r.events !== N || r.verifiedCheckpoints.length !== checkpointsInBundle) {
      problems.push(`${what}: ok=${r.ok}, ${r.events} events, ${r.verifiedCheckpoints.length} checkpoints verified: ${JSON.stringify(r.problem)}`);
    }
  };

  let files: BundleFiles | undefined;
  const readTar = await timed(N, async () => {
    files = await readBundle(tarPath);
  });
  const verifyRuns: Timing[] = [];
  for (let i = 0; i < VERIFY_RUNS; i++) verifyRuns.push(await timed(N, () => checkReport(`verifyBundle (.tar, run ${i + 1})`, verifyBundle(files!))));
  // As `countersign audit verify` runs it: the leaf hashes on every core, the tree on this thread.
  const parallelRuns: Timing[] = [];
  for (let i = 0; i < VERIFY_RUNS; i++) parallelRuns.push(await timed(N, async () => checkReport(`verifyBundleInParallel (.tar, run ${i + 1})`, await verifyBundleInParallel(files!))));
  const rssAfterTar = process.memoryUsage().rss;
  files = undefined;
  const parallelMedian = [...parallelRuns].sort((x, y) => x.ms - y.ms)[Math.floor(parallelRuns.length / 2)]!;
  const readVerifyParallel = plus(readTar, parallelRuns[0]!);
  const verifyCold = verifyRuns[0]!;
  const verifyMedian = [...verifyRuns].sort((x, y) => x.ms - y.ms)[Math.floor(verifyRuns.length / 2)]!;
  const readVerifyTar = plus(readTar, verifyCold);

  let dirFiles: BundleFiles | undefined;
  const readDir = await timed(N, async () => {
    dirFiles = await readBundle(dirPath);
  });
  const verifyDir = await timed(N, () => checkReport('verifyBundle (directory)', verifyBundle(dirFiles!)));
  dirFiles = undefined;
  const readVerifyDir = plus(readDir, verifyDir);
  log(`bench: C: verify ${fmt(perSecond(verifyMedian))} events/s on one thread, ${fmt(perSecond(parallelMedian))} events/s with ${availableParallelism()} leaf-hashing threads (medians of ${VERIFY_RUNS})`);

  // Report.
  const ratio = perSecond(a.timing) / perSecond(b);
  const ratioGc = perSecond(a.timing) / perSecond(b2.timing);
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const cpu = cpus();
  const envShown = [
    'BENCH_AUDIT_EVENTS',
    'BENCH_AUDIT_WRITERS',
    'BENCH_AUDIT_SEQUENTIAL_EVENTS',
    'BENCH_AUDIT_CHECKPOINT_EVERY',
    'BENCH_AUDIT_VERIFY_RUNS',
    'BENCH_AUDIT_BUDGET_SECONDS',
    'BENCH_SQLITE_SYNCHRONOUS',
  ]
    .filter((k) => process.env[k])
    .map((k) => `${k}=${JSON.stringify(process.env[k])} `)
    .join('');

  const out: string[] = [];
  out.push('');
  out.push('Countersign audit benchmark');
  out.push(`  command   ${envShown}npm run bench:audit`);
  out.push(`  date      ${new Date().toISOString()}`);
  out.push(`  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(mb(totalmem()))} MB RAM, Linux ${release()}`);
  out.push(`  node      ${process.version}, better-sqlite3, one process (SQLite runs on the event loop's thread)`);
  out.push(`  events    ${fmt(N)} request.submitted-like events, body ${fmt(bodyBytes)} bytes on average (data ${fmt(dataBytes)} B); WAL, synchronous=${SYNCHRONOUS}`);
  out.push(`  writers   ${WRITERS} concurrent, each awaiting appendAudit of 1 or 2 events (${fmt(sizes.length)} calls)`);
  out.push(`  loadavg   ${fmt(loadBefore, 2)} before the run (1 min), ${fmt(loadavg()[0] ?? 0, 2)} after`);
  out.push('');
  const row = (a: string, b: string, c: string, d: string, e: string, f: string, g: string, h: string) =>
    `  ${a.padEnd(52)}${b.padStart(9)}${c.padStart(9)}${d.padStart(11)}${e.padStart(10)}${f.padStart(10)}${g.padStart(7)}${h.padStart(7)}`;
  out.push(row('phase', 'events', 'seconds', 'events/s', 'µs/event', 'CPU µs/ev', 'cores', 'other'));
  const line = (name: string, t: Timing) =>
    row(name, fmt(t.events), fmt(t.ms / 1000, 2), fmt(perSecond(t)), fmt(usPerEvent(t), 2), fmt(cpuUsPerEvent(t), 2), fmt(t.cpuMs / t.ms, 2), fmt(t.otherCores, 2));
  out.push(line(`A   appendAudit, ${WRITERS} writers (chain + Merkle)`, a.timing));
  out.push(line('B   plain INSERTs, same rows, same transactions', b));
  out.push(line(`B'  plain INSERTs via the group commit, ${WRITERS} writers`, b2.timing));
  if (a1 && b1) {
    out.push(line('A1  appendAudit, one event at a time', a1));
    out.push(line('B1  plain INSERTs, one row per transaction', b1));
  }
  out.push(line('C   export: planBundle + writeBundle (.tar)', exportTar));
  out.push(line('C   export: writeBundle (directory)', exportDir));
  out.push(line('C   readBundle (.tar: untar into memory)', readTar));
  out.push(line(`C   verifyBundle, first run`, verifyCold));
  out.push(line(`C   verifyBundle, median of ${VERIFY_RUNS}`, verifyMedian));
  out.push(line('C   readBundle + verifyBundle (.tar)', readVerifyTar));
  out.push(line(`C   verifyBundleInParallel, median of ${VERIFY_RUNS}`, parallelMedian));
  out.push(line('C   readBundle + verifyBundleInParallel (as the CLI)', readVerifyParallel));
  out.push(line('C   readBundle (directory)', readDir));
  out.push(line('C   verifyBundle (directory)', verifyDir));
  out.push(line('C   readBundle + verifyBundle (directory)', readVerifyDir));
  out.push(line('    verifyAudit on the store (hash chain only)', live));
  out.push('  (cores: CPU this process used per wall second; other: CPU other processes on the machine used meanwhile)');
  out.push('');
  out.push(`  A transactions    ${describeBatches(aTx)}; ${fmt((a.tx.inTransactionMs / a.timing.ms) * 100, 1)} % of A's wall time inside BEGIN … COMMIT`);
  out.push(`  B' transactions   ${describeBatches(b2Tx)}; ${fmt((b2.tx.inTransactionMs / b2.timing.ms) * 100, 1)} % of B''s wall time inside BEGIN … COMMIT`);
  out.push(`  ratios (CPU time) A / B ${fmt((cpuUsPerEvent(b) / cpuUsPerEvent(a.timing)) * 100, 1)} %   A / B' ${fmt((cpuUsPerEvent(b2.timing) / cpuUsPerEvent(a.timing)) * 100, 1)} %`);
  out.push(`  ratios            A / B ${fmt(ratio * 100, 1)} %   A / B' ${fmt(ratioGc * 100, 1)} % (chain + Merkle alone)   B' / B ${fmt((perSecond(b2.timing) / perSecond(b)) * 100, 1)} % (group commit machinery)` + (a1 && b1 ? `   A1 / B1 ${fmt((perSecond(a1) / perSecond(b1)) * 100, 1)} %` : ''));
  out.push(
    `  per event (µs)    A ${fmt(usPerEvent(a.timing), 2)} = B ${fmt(usPerEvent(b), 2)} + group commit ${fmt(usPerEvent(b2.timing) - usPerEvent(b), 2)} + chain + Merkle ${fmt(usPerEvent(a.timing) - usPerEvent(b2.timing), 2)}, ` +
      `of which in memory: chainEvent ${fmt(costs.chain, 2)} (canonical JSON ${fmt(costs.canonical, 2)}, SHA-256 ${fmt(costs.sha, 2)}, the rest ${fmt(costs.chain - costs.canonical - costs.sha, 2)}), Merkle hashing ${fmt(costs.merkle, 2)}; ` +
      `the remaining ${fmt(usPerEvent(a.timing) - usPerEvent(b2.timing) - costs.chain - costs.merkle, 2)} is the merkle_nodes INSERTs and the head SELECT, plus the in-memory steps running slower inside the write path than alone (a CPU profile gives the exact split)`,
  );
  out.push(`  bundle            ${fmt(checkpointsInBundle)} signed checkpoints (signing them took ${fmt(signing.ms, 0)} ms), .tar ${fmt(mb(tarBytes), 1)} MB; RSS after reading and verifying the .tar ${fmt(mb(rssAfterTar), 0)} MB`);
  out.push('');
  out.push('  target                                           measured      result');
  const t = (name: string, measured: string, ok: boolean) => `  ${name.padEnd(46)}${measured.padStart(12)}      ${verdict(ok)}`;
  out.push(t(`appends >= ${TARGETS.appendRatio * 100} % of plain inserts (A / B)`, `${fmt(ratio * 100, 1)} %`, ratio >= TARGETS.appendRatio));
  out.push(t(`verify >= ${fmt(TARGETS.verifyPerSecond)} events/s (as the CLI verifies)`, `${fmt(perSecond(parallelMedian))}/s`, perSecond(parallelMedian) >= TARGETS.verifyPerSecond));
  out.push(t(`  same, read + verify of the .tar`, `${fmt(perSecond(readVerifyParallel))}/s`, perSecond(readVerifyParallel) >= TARGETS.verifyPerSecond));
  out.push(t(`  same, one thread (verifyBundle)`, `${fmt(perSecond(verifyMedian))}/s`, perSecond(verifyMedian) >= TARGETS.verifyPerSecond));
  out.push(...problemLines(problems));
  process.stdout.write(`${out.join('\n')}\n`);
  return problems.length ? 1 : 0;
}

main()
  .then(
    (code) => code,
    (e: unknown) => {
      log(`bench: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return 1;
    },
  )
  .then((code) => {
    cleanup();
    clearTimeout(watchdog);
    process.exit(code);
  });
