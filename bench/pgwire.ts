/**
 * `npm run bench:pgwire`: what Countersign's Postgres listener (issue 17)
 * costs a native client, next to what a plain pooler costs, in one run on
 * one machine against one database:
 *
 *   a. direct        pgbench → PostgreSQL (DATABASE_URL's server, 127.0.0.1:5432 by default)
 *   b. pgbouncer     pgbench → pgbouncer (session pooling; installed with apt-get when missing) → PostgreSQL
 *   c. countersign   pgbench → Countersign's Postgres listener (every statement an action, allowed by policy)
 *                    → PostgreSQL; "skipped: no listener" when this build has none
 *   d. cs-cached     the same with the connection's `sessionCheckCache` on (the bench database gets the DDL
 *                    counter's event triggers, README "Session check cache"): the session check's verdict is
 *                    reused behind a verifier
 *
 * The four run side by side and take turns: each run (script, clients,
 * protocol) is measured on a, b and c one after the other.
 *
 * For each: pgbench's built-in `select-only` (-S) and `tpcb-like` (the
 * default) scripts, 1 and 8 clients, BENCH_SECONDS each, for each protocol in
 * BENCH_PROTOCOLS (pgbench's -M; the targets are judged on `simple`, pgbench's
 * default). The database is `cs_bench_<pid>` (pgbench -i -s BENCH_SCALE);
 * before every run its tables are reset as pgbench does without -n, directly,
 * so that every target starts alike.
 *
 * Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2; per target, protocol
 * and script, 8 clients), BENCH_SCALE (10), BENCH_PROTOCOLS (simple,extended),
 * DATABASE_URL (the server to make the database on), BENCH_GATEWAY_NODE_ARGS
 * (node flags for the gateways, e.g. `--cpu-prof --cpu-prof-dir=<dir>`).
 *
 * Exits 0 when the measurement completed (a skipped Countersign included),
 * whatever the figures; 1 when it could not measure.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase, dropBenchLeftovers, type BenchDatabase, type PgTarget } from './support/bench-database.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { cpuWindow } from './support/cpu.ts';
import { pgbenchVersion, runPgbench, STATEMENTS_PER_TRANSACTION, type PgbenchProtocol, type PgbenchScript } from './support/pgbench.ts';
import { ensurePgbouncer, startPgbouncer } from './support/pgbouncer.ts';
import { startPgwireGateway } from './support/pgwire-gateway.ts';
import { pgwireReport, runKey, type Measurements, type TargetName } from './support/pgwire-report.ts';
import { installDdlEpochSql } from '../src/adapters/executor/sql/guard-cache.ts';
import { killAllChildren } from './support/procs.ts';
import { runMain } from './support/run-main.ts';

// pgbench -T takes whole seconds.
const seconds = envNumber('BENCH_SECONDS', 10, { integer: true, min: 1 });
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2, { integer: true });
const scale = envNumber('BENCH_SCALE', 10, { integer: true, min: 1 });
const protocols = (process.env['BENCH_PROTOCOLS'] || 'simple,extended').split(',').map((s) => s.trim()).filter(Boolean) as PgbenchProtocol[];
if (protocols.length === 0 || protocols.some((p) => !['simple', 'extended', 'prepared'].includes(p))) {
  throw new Error(`BENCH_PROTOCOLS must list simple, extended and/or prepared, got ${process.env['BENCH_PROTOCOLS']}`);
}

const SCRIPTS: readonly PgbenchScript[] = ['select-only', 'tpcb-like'];
const CLIENTS = [1, 8] as const;
const TARGETS: readonly TargetName[] = ['direct', 'pgbouncer', 'countersign', 'cs-cached'];

const log = (line: string) => process.stderr.write(`${line}\n`);

let db: BenchDatabase | undefined;
const dir = mkdtempSync(join(tmpdir(), 'cs-bench-pgwire-'));
/** Synchronous, for the watchdog and signals as well as the normal end. */
function cleanup(): void {
  killAllChildren();
  dropBenchLeftovers(db, dir, log);
}

// Per run: its length, pgbench's connect and exit, the reset; then init, apt-get and the build.
const runsPerTarget = protocols.length * (SCRIPTS.length * CLIENTS.length * (seconds + 10) + (warmup > 0 ? SCRIPTS.length * (warmup + 10) : 0));
const watchdog = startWatchdog((TARGETS.length * runsPerTarget + 900) * 1000, cleanup, log);

const versions: { pgbouncer?: string } = {};

interface Started {
  readonly target: PgTarget;
  /** The gateway's process (workers: 1), whose CPU per statement is reported. */
  readonly pid?: number;
  exited(): boolean;
  stop(): Promise<void>;
}

async function start(name: TargetName, database: BenchDatabase, bouncerBin: string): Promise<Started | { skipped: string }> {
  if (name === 'direct') return { target: database.direct, exited: () => false, stop: async () => {} };
  if (name === 'pgbouncer') {
    const b = await startPgbouncer(bouncerBin, dir, database.direct, log);
    versions.pgbouncer = b.version;
    return b;
  }
  if (name === 'countersign') return startPgwireGateway(dir, database.url, log);
  const own = join(dir, 'cached');
  mkdirSync(own);
  return startPgwireGateway(own, database.url, log, { sessionCheckCache: true });
}

async function main(): Promise<number> {
  const problems: string[] = [];
  const measured: Measurements = new Map();
  const skipped = new Map<TargetName, string>();
  try {
    const pgbench = pgbenchVersion();
    if (!pgbench) throw new Error('pgbench is not installed (Debian: apt-get install postgresql-client)');
    const bouncerBin = ensurePgbouncer(log);
    db = createBenchDatabase(scale, log);
    // The DDL counter for d (pgbench's TRUNCATE and VACUUM between runs are not DDL to an event trigger).
    db.exec(installDdlEpochSql());
    const loadBefore = loadavg()[0] ?? 0;
    const threads = (clients: number) => Math.min(clients, cpus().length);

    // All targets run side by side and take turns run by run, so that a change in the machine's load (it is shared)
    // falls on every target alike instead of on whichever was measured last.
    const live = new Map<TargetName, Started>();
    for (const name of TARGETS) {
      try {
        const started = await start(name, db, bouncerBin);
        if ('skipped' in started) {
          skipped.set(name, started.skipped);
          log(`bench: ${name}: skipped: ${started.skipped}`);
        } else live.set(name, started);
      } catch (e) {
        problems.push(`${name} did not start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const database = db;
    /** One pgbench run on each live target in turn; a target that fails once is not run again. */
    async function eachTarget(what: (name: TargetName, target: PgTarget, pid: number | undefined) => Promise<void>): Promise<void> {
      for (const [name, started] of live) {
        try {
          database.reset();
          await what(name, started.target, started.pid);
          if (started.exited()) throw new Error('exited during the run');
        } catch (e) {
          problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
          live.delete(name);
          await started.stop();
        }
      }
    }
    try {
      for (const protocol of protocols) {
        for (const script of SCRIPTS) {
          if (warmup > 0) {
            await eachTarget((_, target) => runPgbench({ target, script, protocol, clients: 8, threads: threads(8), seconds: warmup, logDir: dir, label: 'warmup' }).then(() => undefined));
          }
          for (const clients of CLIENTS) {
            await eachTarget(async (name, target, pid) => {
              log(`bench: ${name}: ${script}, ${clients} client${clients > 1 ? 's' : ''}, -M ${protocol}, ${seconds} s`);
              const cpu = pid === undefined ? undefined : cpuWindow({ gateway: pid });
              const r = await runPgbench({ target, script, protocol, clients, threads: threads(clients), seconds, logDir: dir, label: `${name}-${protocol}-${script}-${clients}` });
              const statements = r.transactions * STATEMENTS_PER_TRANSACTION[script];
              const cpuUs = cpu && statements > 0 ? ((cpu.end().cpuSeconds['gateway'] ?? 0) * 1e6) / statements : undefined;
              if (r.failed > 0) problems.push(`${name} ${script} ${clients} clients -M ${protocol}: ${r.failed} failed transactions`);
              log(`bench: ${name}: ${r.tps.toFixed(0)} tps, avg ${r.avgMs.toFixed(3)} ms, p50 ${r.p50Ms.toFixed(3)} ms${cpuUs === undefined ? '' : `, gateway CPU ${cpuUs.toFixed(0)} µs per statement`}`);
              measured.set(runKey(name, protocol, script, clients), { ...r, ...(cpuUs === undefined ? {} : { gatewayCpuUs: cpuUs }) });
            });
          }
        }
      }
    } finally {
      await Promise.all([...live.values()].map((t) => t.stop()));
    }

    const out = pgwireReport({
      seconds,
      warmup,
      scale,
      protocols,
      scripts: SCRIPTS,
      clients: CLIENTS,
      targets: TARGETS,
      measured,
      skipped,
      problems,
      loadavg: [loadBefore, loadavg()[0] ?? 0],
      versions: { postgres: db.serverVersion, pgbench, pgbouncer: versions.pgbouncer ?? 'not run' },
    });
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length ? 1 : 0;
  } finally {
    cleanup();
  }
}

runMain(main, watchdog);
