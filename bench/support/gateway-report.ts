/**
 * What `npm run bench:gateway` prints: the setting, a matrix of every store and
 * workers setting, the targets of issue 16 with both stores side by side, the
 * profiler's overhead, and the top self-time entries of every profiled phase.
 */
import { cpus, release, totalmem } from 'node:os';
import type { LoadResult } from './autocannon.ts';
import { describeShare, type CpuShare } from './cpu.ts';
import type { ProfileSummary } from './phase-profiles.ts';
import { problemLines } from './run-main.ts';

export type StoreName = 'sqlite' | 'postgres';

export interface Phase {
  readonly label: string;
  readonly load: LoadResult;
  /** 2xx answers during the warm-up. */
  readonly warmupOk: number;
  /** 2xx answers during the measured run. */
  readonly ok: number;
  readonly okPerSecond: number;
  /** The gateway's processes added up as `gateway`. */
  readonly cpu: CpuShare;
  /** CPU of the gateway's whole process tree per 2xx answer, in µs. */
  readonly cpuPerActionUs: number;
  /** The profile of this run, when it was profiled. */
  readonly profile: ProfileSummary | undefined;
  /** The shorter profiled run that followed this (unprofiled) measured run. */
  readonly profiled: Phase | undefined;
}

export interface Run {
  readonly store: StoreName;
  readonly workers: number;
  readonly pids: readonly number[];
  readonly allowed: Phase;
  readonly held: Phase;
  /** The profiler's overhead: short allowed runs on the same gateway, alternately without and with profiling. */
  readonly overhead: { unprofiled: Phase[]; profiled: Phase[] } | undefined;
  readonly unloaded: { direct: LoadResult; gateway: LoadResult } | undefined;
  readonly forwarded: number;
  readonly answered: number;
  readonly heldCount: number;
  /** Per process, in the order of `pids` (the primary first). */
  readonly peakRssBytes: readonly number[];
}

export interface Settings {
  readonly seconds: number;
  readonly warmup: number;
  readonly connections: number;
  readonly unloadedSeconds: number;
  readonly stores: readonly StoreName[];
  readonly workersList: readonly number[];
  readonly profiling: boolean;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** Issue 16's targets; `undefined`: no target for that store (the figure is shown). */
const TARGETS: Record<StoreName, { cpuAllowedUs: number; cpuHeldUs: number; allowedPerSecond?: number; addedP50Ms: number; heldPerSecond?: number; peakRssMb: number }> = {
  sqlite: { cpuAllowedUs: 300, cpuHeldUs: 200, allowedPerSecond: 4000, addedP50Ms: 0.7, heldPerSecond: 6000, peakRssMb: 150 },
  postgres: { cpuAllowedUs: 450, cpuHeldUs: 350, addedP50Ms: 0.7, peakRssMb: 150 },
};

const STORE_TITLE: Record<StoreName, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number) => bytes / 2 ** 20;

const best = (runs: readonly Run[], by: (r: Run) => number) => runs.reduce<Run | undefined>((b, r) => (!b || by(r) > by(b) ? r : b), undefined);

interface Cell {
  figure: string;
  target: string;
  ok: boolean | undefined;
}

/** One row of the targets table per measure, a cell per store. */
function targetCells(runs: readonly Run[], store: StoreName): Cell[] {
  const mine = runs.filter((r) => r.store === store);
  const t = TARGETS[store];
  const lowest = mine.reduce<Run | undefined>((b, r) => (!b || r.workers < b.workers ? r : b), undefined);
  const none: Cell = { figure: 'not run', target: '', ok: undefined };
  if (!lowest) return Array.from({ length: 6 }, () => none);
  const w = (r: Run) => `(w${r.workers})`;
  const cell = (value: number, unit: string, digits: number, r: Run | undefined, cmp: '<=' | '>=', target: number | undefined): Cell => ({
    figure: `${fmt(value, digits)} ${unit}${r ? ` ${w(r)}` : ''}`,
    target: target === undefined ? '-' : `${cmp} ${fmt(target, digits === 0 ? 0 : 1)}`,
    ok: target === undefined ? undefined : cmp === '<=' ? value <= target : value >= target,
  });
  const bestAllowed = best(mine, (r) => r.allowed.okPerSecond)!;
  const bestHeld = best(mine, (r) => r.heldCount / r.held.load.raw.duration)!;
  const u = lowest.unloaded;
  const peak = Math.max(...mine.flatMap((r) => r.peakRssBytes));
  return [
    cell(lowest.allowed.cpuPerActionUs, 'µs', 0, lowest, '<=', t.cpuAllowedUs),
    cell(lowest.held.cpuPerActionUs, 'µs', 0, lowest, '<=', t.cpuHeldUs),
    cell(bestAllowed.allowed.okPerSecond, '/s', 0, bestAllowed, '>=', t.allowedPerSecond),
    u ? cell(u.gateway.p50 - u.direct.p50, 'ms', 2, lowest, '<=', t.addedP50Ms) : none,
    cell(bestHeld.heldCount / bestHeld.held.load.raw.duration, '/s', 0, bestHeld, '>=', t.heldPerSecond),
    cell(mb(peak), 'MB', 1, undefined, '<=', t.peakRssMb),
  ];
}

const MEASURES = [
  'gateway CPU per allowed action',
  'gateway CPU per held action',
  `allowed actions/s, best workers`,
  'added p50, 1 connection',
  'held actions/s, best workers',
  'peak RSS, any one process',
];

function targetsTable(s: Settings, runs: readonly Run[]): string[] {
  const out: string[] = [];
  const col = (c: Cell) => `${c.figure.padStart(17)} ${c.target.padEnd(9)}${c.ok === undefined ? '    ' : c.ok ? 'PASS' : 'MISS'}`;
  out.push(`  ${'target (issue 16)'.padEnd(34)}${s.stores.map((st) => `  ${STORE_TITLE[st].padStart(17)} ${'target'.padEnd(9)}    `).join('')}`);
  const cells = s.stores.map((st) => targetCells(runs, st));
  MEASURES.forEach((m, i) => out.push(`  ${m.padEnd(34)}${cells.map((c) => `  ${col(c[i]!)}`).join('')}`));
  out.push('  (wN: the workers setting of the figure. CPU per action: the lowest workers setting, the whole process tree;');
  out.push('   best workers: the setting with the most 2xx answers per second; added p50: lowest setting, minus direct p50)');
  return out;
}

function matrix(direct: Phase, runs: readonly Run[]): string[] {
  const out: string[] = [];
  const row = (x: string, cols: string[]) => `  ${x.padEnd(36)}${cols.map((c) => c.padStart(16)).join('')}`;
  out.push(row('', runs.map((r) => `${STORE_TITLE[r.store]} w${r.workers}`)));
  out.push(row('allowed actions/s (2xx)', runs.map((r) => fmt(r.allowed.okPerSecond))));
  out.push(row('  % of direct', runs.map((r) => `${fmt((r.allowed.okPerSecond / direct.okPerSecond) * 100, 1)} %`)));
  out.push(row('  gateway CPU per action (µs)', runs.map((r) => fmt(r.allowed.cpuPerActionUs))));
  out.push(row('  p50 / p99 (ms)', runs.map((r) => `${fmt(r.allowed.load.p50, 1)} / ${fmt(r.allowed.load.p99, 1)}`)));
  out.push(row('  gateway cores busy', runs.map((r) => fmt((r.allowed.cpu.cpuSeconds['gateway'] ?? 0) / r.allowed.cpu.seconds, 2))));
  out.push(row('held actions/s (202)', runs.map((r) => fmt(r.heldCount / r.held.load.raw.duration))));
  out.push(row('  gateway CPU per action (µs)', runs.map((r) => fmt(r.held.cpuPerActionUs))));
  out.push(row('  p50 / p99 (ms)', runs.map((r) => `${fmt(r.held.load.p50, 1)} / ${fmt(r.held.load.p99, 1)}`)));
  out.push(row('  gateway cores busy', runs.map((r) => fmt((r.held.cpu.cpuSeconds['gateway'] ?? 0) / r.held.cpu.seconds, 2))));
  out.push(row('unloaded p50 direct / gateway (ms)', runs.map((r) => (r.unloaded ? `${fmt(r.unloaded.direct.p50, 2)} / ${fmt(r.unloaded.gateway.p50, 2)}` : '-'))));
  out.push(row('peak RSS per process (MB)', runs.map((r) => r.peakRssBytes.map((b) => fmt(mb(b), 0)).join(' / '))));
  out.push(row('upstream calls / allowed answered', runs.map((r) => `${r.forwarded} / ${r.answered}`)));
  out.push('  (upstream calls: at least one per allowed action answered, plus at most one per connection in flight when a run ends)');
  out.push('  (peak RSS: VmHWM of each process, the primary first, over its start and measured runs, which come before the profiled ones; w1 is one process)');
  out.push('');
  out.push(`  CPU during each measured phase, in cores (the machine has ${cpus().length}):`);
  out.push(`    ${'direct'.padEnd(28)} ${describeShare(direct.cpu)}`);
  for (const r of runs) {
    for (const p of [r.allowed, r.held]) out.push(`    ${p.label.padEnd(28)} ${describeShare(p.cpu)}`);
  }
  return out;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function overhead(runs: readonly Run[]): string[] {
  const r = runs.find((x) => x.overhead);
  if (!r?.overhead || !r.overhead.profiled.length) return [];
  const { unprofiled, profiled } = r.overhead;
  const pct = (x: number, y: number) => `${x >= y ? '+' : ''}${fmt(((x - y) / y) * 100, 1)} %`;
  const list = (ps: readonly Phase[], f: (p: Phase) => number) => ps.map((p) => fmt(f(p))).join(', ');
  const cpu = (p: Phase) => p.cpuPerActionUs;
  const rate = (p: Phase) => p.okPerSecond;
  return [
    '',
    `  profiler overhead (${STORE_TITLE[r.store]} w${r.workers}, allowed, ${unprofiled.length} + ${profiled.length} short runs alternating on the same gateway):`,
    `    gateway CPU per action, median: ${fmt(median(unprofiled.map(cpu)))} µs unprofiled (${list(unprofiled, cpu)}) -> ` +
      `${fmt(median(profiled.map(cpu)))} µs profiled (${list(profiled, cpu)}): ${pct(median(profiled.map(cpu)), median(unprofiled.map(cpu)))}`,
    `    allowed actions/s, median: ${fmt(median(unprofiled.map(rate)))} unprofiled (${list(unprofiled, rate)}) -> ` +
      `${fmt(median(profiled.map(rate)))} profiled (${list(profiled, rate)}): ${pct(median(profiled.map(rate)), median(unprofiled.map(rate)))}`,
  ];
}

function profiles(runs: readonly Run[]): string[] {
  const profiled = runs.flatMap((r) => [r.allowed.profiled, r.held.profiled, ...(r.overhead?.profiled ?? [])]).filter((p) => p?.profile);
  if (!profiled.length) return [];
  const loader = profiled.reduce((n, p) => n + (p?.profile?.loaderFrames ?? 0), 0);
  const out: string[] = [
    '',
    `  TypeScript loader (tsx, esbuild) frames in the ${profiled.length} profiles: ${loader}${loader ? ' (NOT the compiled build)' : ''}`,
    '  Profiles: a profiled run of the same load follows each measured run (the figures above are unprofiled);',
    '  self time merged over the gateway\'s processes, % of their busy (non-idle) samples; a native function is',
    '  counted per call site, "<-" naming the JavaScript frame that called it.',
  ];
  for (const r of runs) {
    for (const measured of [r.allowed, r.held]) {
      const p = measured.profiled;
      const s = p?.profile;
      if (!p || !s) continue;
      out.push('');
      if (s.loaderFrames) out.push(`  WARNING: ${s.loaderFrames} frames of a TypeScript loader in this profile: not the compiled build`);
      out.push(
        `  profile: ${measured.label}, ${fmt(p.load.raw.duration, 0)} s: ${fmt(p.okPerSecond)}/s, ${fmt(p.cpuPerActionUs)} µs per action ` +
          `(measured run: ${fmt(measured.okPerSecond)}/s, ${fmt(measured.cpuPerActionUs)} µs); ${s.processes} process${s.processes > 1 ? 'es' : ''}, ` +
          `${fmt(s.busySamples)} busy samples, idle ${fmt(s.idleShare * 100, 0)} %. Top 10 self time:`,
      );
      for (const e of s.top) {
        const where = e.caller ? `${e.where} <- ${e.caller.fn} ${e.caller.where}` : e.where;
        out.push(`    ${fmt(e.percent, 1).padStart(5)} %  ${fmt(e.ms).padStart(6)} ms  ${e.fn.slice(0, 32).padEnd(32)}  ${where}`);
      }
    }
  }
  return out;
}

/** Mean cores taken by processes other than upstream, gateway and autocannon over the measured runs of a kind. */
function otherCores(phases: readonly Phase[]): number {
  return phases.reduce((s, p) => s + p.cpu.otherCpuSeconds, 0) / phases.reduce((s, p) => s + p.cpu.seconds, 0);
}

function othersLine(direct: Phase, runs: readonly Run[]): string {
  const of = (store: StoreName) => runs.filter((r) => r.store === store).flatMap((r) => [r.allowed, r.held]);
  const parts = [`${fmt(otherCores([direct, ...of('sqlite')]), 2)} cores in the direct${of('sqlite').length ? ' and SQLite' : ''} runs (work outside the bench)`];
  if (of('postgres').length) parts.push(`${fmt(otherCores(of('postgres')), 2)} in the PostgreSQL runs (the database server included)`);
  return `  others    other processes took ${parts.join(', ')}`;
}

/**
 * @example
 * process.stdout.write(report(settings, direct, runs, problems));
 */
export function report(s: Settings, direct: Phase, runs: readonly Run[], problems: readonly string[]): string {
  const cpu = cpus();
  const envShown = ['BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_UNLOADED_SECONDS', 'BENCH_STORES', 'BENCH_WORKERS', 'BENCH_PROFILE', 'BENCH_PROFILE_OVERHEAD_ROUNDS', 'BENCH_PROFILE_OVERHEAD_SECONDS', 'BENCH_PROFILE_OUT', 'BENCH_GATEWAY_NODE_ARGS', 'BENCH_SQLITE_SYNCHRONOUS']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]} `)
    .join('');
  const la = (l: readonly number[]) => l.map((x) => fmt(x, 2)).join(' ');
  const out: string[] = [
    '',
    'Countersign gateway benchmark: the hot path (issue 16)',
    `  command   ${envShown}npm run bench:gateway`,
    `  date      ${new Date().toISOString()}`,
    `  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(mb(totalmem()))} MB RAM, Linux ${release()}, node ${process.version}`,
    `  gateway   the compiled build: node bin/countersign.js start --config <file>${s.profiling ? ' (with --import bench/support/phase-profiler.mjs)' : ''}`,
    `  load      autocannon, ${s.connections} connections, ${s.seconds} s per phase after ${s.warmup} s warm-up; 1 connection for ${s.unloadedSeconds} s unloaded;`,
    '            upstream, gateway (primary and workers), PostgreSQL and autocannon share the machine',
    `  loadavg   ${la(s.loadBefore)} before the run (1, 5, 15 min); ${la(s.loadAfter)} after`,
    othersLine(direct, runs),
    `  direct    ${fmt(direct.okPerSecond)} requests/s, p50 ${fmt(direct.load.p50, 2)} ms, p99 ${fmt(direct.load.p99, 2)} ms (upstream alone, the baseline)`,
    '',
    ...matrix(direct, runs),
    '',
    ...targetsTable(s, runs),
    ...overhead(runs),
    ...profiles(runs),
  ];
  out.push(...problemLines(problems));
  return `${out.join('\n')}\n`;
}
