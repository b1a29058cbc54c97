/**
 * The report of `bench:pgwire`: a table per protocol (tps, latency, the
 * ratio to direct and the p50 latency added per statement at 1 client), the
 * issue's targets next to the figures, and pgbouncer's published ratio as
 * the reference Countersign aims for.
 */
import { cpus, release, totalmem } from 'node:os';
import { problemLines } from './run-main.ts';
import { STATEMENTS_PER_TRANSACTION, type PgbenchProtocol, type PgbenchResult, type PgbenchScript } from './pgbench.ts';

export type TargetName = 'direct' | 'pgbouncer' | 'countersign' | 'cs-cached';
/** A run's pgbench figures and, for a gateway, its process's CPU per statement (µs, from /proc). */
export type Measurements = Map<string, PgbenchResult & { readonly gatewayCpuUs?: number }>;

/** The key of one run in Measurements. */
export function runKey(target: TargetName, protocol: PgbenchProtocol, script: PgbenchScript, clients: number): string {
  return `${target}|${protocol}|${script}|${clients}`;
}

export const PGWIRE_TARGETS = { selectOnly8OverDirect: 0.5, addedP50PerStatementMs: 0.5 } as const;
/** pgbouncer's published select-only ratio to direct, which issue 17 sets as the goal. */
const PGBOUNCER_PUBLISHED = '0.72–0.81x';

export interface PgwireReportInput {
  readonly seconds: number;
  readonly warmup: number;
  readonly scale: number;
  readonly protocols: readonly PgbenchProtocol[];
  readonly scripts: readonly PgbenchScript[];
  readonly clients: readonly number[];
  readonly targets: readonly TargetName[];
  readonly measured: Measurements;
  readonly skipped: ReadonlyMap<TargetName, string>;
  readonly problems: readonly string[];
  readonly loadavg: readonly [number, number];
  readonly versions: { readonly postgres: string; readonly pgbench: string; readonly pgbouncer: string };
}

const fmt = (n: number | undefined, digits = 0) =>
  n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const LETTER: Record<TargetName, string> = { direct: 'a', pgbouncer: 'b', countersign: 'c', 'cs-cached': 'd' };

/** Added p50 latency per statement (ms) of `target` over direct, 1 client; undefined when either is missing. */
export function addedPerStatement(m: Measurements, target: TargetName, protocol: PgbenchProtocol, script: PgbenchScript): number | undefined {
  const t = m.get(runKey(target, protocol, script, 1));
  const d = m.get(runKey('direct', protocol, script, 1));
  return t && d ? (t.p50Ms - d.p50Ms) / STATEMENTS_PER_TRANSACTION[script] : undefined;
}

/** tps of `target` over direct's; undefined when either is missing. */
export function ratioToDirect(m: Measurements, target: TargetName, protocol: PgbenchProtocol, script: PgbenchScript, clients: number): number | undefined {
  const t = m.get(runKey(target, protocol, script, clients));
  const d = m.get(runKey('direct', protocol, script, clients));
  return t && d ? t.tps / d.tps : undefined;
}

/**
 * @example
 * process.stdout.write(`${pgwireReport(input).join('\n')}\n`);
 */
export function pgwireReport(r: PgwireReportInput): string[] {
  const cpu = cpus();
  const out: string[] = [''];
  out.push('Countersign PostgreSQL wire protocol benchmark (issue 17)');
  const env = [r.seconds !== 10 ? `BENCH_SECONDS=${r.seconds}` : '', r.protocols.join(',') !== 'simple,extended' ? `BENCH_PROTOCOLS=${r.protocols.join(',')}` : ''].filter(Boolean);
  out.push(`  command   npm run bench:pgwire${env.length ? ` (${env.join(' ')})` : ''}`);
  out.push(`  date      ${new Date().toISOString()}`);
  out.push(`  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 2 ** 20)} MB RAM, Linux ${release()}, node ${process.version}`);
  out.push(`  software  ${r.versions.postgres.split(',')[0]}; ${r.versions.pgbench}; ${r.versions.pgbouncer}`);
  out.push(`  load      pgbench -n -b <script> -M <protocol> -c <clients> -j <min(clients, cpus)> -T ${r.seconds} --log, scale ${r.scale};`);
  out.push(`            ${r.warmup > 0 ? `${r.warmup} s warm-up per target, protocol and script (8 clients); ` : ''}before every run VACUUM pgbench_branches,`);
  out.push('            pgbench_tellers and TRUNCATE pgbench_history, directly (pgbench\'s own prelude without -n);');
  out.push('            pgbench, PostgreSQL, pgbouncer and the gateway share the machine');
  out.push(`  loadavg   ${fmt(r.loadavg[0], 2)} before the runs (1 min), ${fmt(r.loadavg[1], 2)} after`);
  out.push('  latency   avg: pgbench\'s "latency average"; p50/p99: nearest rank over every transaction in pgbench\'s');
  out.push('            per-transaction log (--log, µs). +p50/stmt (1 client): (p50 of the target − p50 direct, same script');
  out.push(`            and protocol) ÷ statements per transaction (${r.scripts.map((s) => `${s} ${STATEMENTS_PER_TRANSACTION[s]}`).join(', ')})`);
  out.push('  cpu       CPU/stmt: µs of user + system CPU of the target\'s own process (gateway or pgbouncer; /proc) over the run, per statement');

  const row = (cols: readonly string[]) => `  ${cols[0]!.padEnd(13)}${cols[1]!.padStart(7)}  ${cols[2]!.padEnd(16)}${cols.slice(3).map((c) => c.padStart(10)).join('')}`.trimEnd();
  for (const protocol of r.protocols) {
    out.push('');
    out.push(`  -M ${protocol}`);
    out.push(row(['script', 'clients', 'target', 'tps', 'avg ms', 'p50 ms', 'p99 ms', 'x direct', '+p50/stmt', 'CPU/stmt']));
    for (const script of r.scripts) {
      for (const clients of r.clients) {
        for (const target of r.targets) {
          const label = `${LETTER[target]}. ${target}`;
          const skip = r.skipped.get(target);
          if (skip) {
            out.push(`${row([script, String(clients), label])}  skipped: ${skip}`);
            continue;
          }
          const m = r.measured.get(runKey(target, protocol, script, clients));
          if (!m) {
            out.push(`${row([script, String(clients), label])}  not measured (see the errors below)`);
            continue;
          }
          const ratio = target === 'direct' ? '' : `${fmt(ratioToDirect(r.measured, target, protocol, script, clients), 2)}x`;
          const added = target === 'direct' || clients !== 1 ? '' : `${fmt(addedPerStatement(r.measured, target, protocol, script), 3)} ms`;
          const cpuUs = m.gatewayCpuUs === undefined ? '' : fmt(m.gatewayCpuUs);
          out.push(row([script, String(clients), label, fmt(m.tps), fmt(m.avgMs, 3), fmt(m.p50Ms, 3), fmt(m.p99Ms, 3), ratio, added, cpuUs]));
        }
      }
    }
  }

  out.push('');
  const judged: PgbenchProtocol = r.protocols.includes('simple') ? 'simple' : r.protocols[0]!;
  const t = (name: string, measured: string, verdict: string) => `  ${name.padEnd(84)}${measured.padStart(10)}   ${verdict}`.trimEnd();
  out.push(t(`target (-M ${judged})`, 'measured', 'result'));
  for (const [target, name] of [['countersign', 'Countersign'], ['cs-cached', 'Countersign + cache']] as const) {
    if (!r.targets.includes(target)) continue;
    const skip = r.skipped.get(target);
    const judge = (v: number | undefined, ok: (v: number) => boolean, unit: string, digits: number): [string, string] =>
      skip ? ['n/a', `SKIPPED (${skip})`] : v === undefined ? ['n/a', 'NOT MEASURED'] : [`${fmt(v, digits)}${unit}`, ok(v) ? 'PASS' : 'MISS'];
    const ratio = ratioToDirect(r.measured, target, judged, 'select-only', 8);
    out.push(t(`${name} >= ${PGWIRE_TARGETS.selectOnly8OverDirect}x direct tps, select-only, 8 clients`, ...judge(ratio, (v) => v >= PGWIRE_TARGETS.selectOnly8OverDirect, 'x', 2)));
    for (const script of r.scripts) {
      const added = addedPerStatement(r.measured, target, judged, script);
      out.push(t(`${name} added p50 latency per statement <= ${PGWIRE_TARGETS.addedP50PerStatementMs} ms, ${script}, 1 client`, ...judge(added, (v) => v <= PGWIRE_TARGETS.addedP50PerStatementMs, ' ms', 3)));
    }
  }
  const bouncer = ratioToDirect(r.measured, 'pgbouncer', judged, 'select-only', 8);
  out.push(t(`reference: pgbouncer tps / direct, select-only, 8 clients (published ${PGBOUNCER_PUBLISHED})`, bouncer === undefined ? 'n/a' : `${fmt(bouncer, 2)}x`, ''));
  out.push(...problemLines(r.problems));
  return out;
}
