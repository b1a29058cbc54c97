/**
 * `npm run bench:gateway`: the gateway's cost on the hot path (issue 16), on
 * both stores and at several `server.workers` settings in one run, against the
 * same upstream called directly.
 *
 * The gateway under test is the compiled build started as a user starts it,
 * `node bin/countersign.js start --config <file>` (dist/ is rebuilt first when
 * the sources are newer). Upstream, gateway (primary and workers), PostgreSQL
 * and the load generator (autocannon, in this process) share the machine.
 *
 *   1. direct     GET upstream/x, 50 connections            (the baseline)
 *   then for each store (sqlite, postgres) and each workers setting (1, 2):
 *   2. allowed    POST /v1/actions {method: GET}, 50 conns  (policy allow → forwarded)
 *   3. held       POST /v1/actions {method: POST}, 50 conns (policy approve → 202, durable write)
 *   4. unloaded   1 connection, direct then allowed          (lowest workers setting only)
 *   then, on the first store at the lowest workers setting:
 *   5. telemetry  allowed, one gateway per telemetry variant (both off; metrics on; metrics on and
 *                 tracing on at sampleRatio 0), alternating short runs (bench/support/telemetry-cost.ts);
 *                 the paired ratio to "both off" is the cost of telemetry
 *
 * Each loaded phase has a warm-up. The gateway's CPU is that of its whole
 * process tree (primary and workers) from /proc, and its peak RSS per process
 * is read over the measured runs of 2–3. After both, a shorter run of each
 * load is CPU-profiled in every process without a restart
 * (bench/support/phase-profiler.mjs) and summed up as the top self-time
 * entries; the measured runs themselves are never profiled, as the profiler
 * costs the gateway a few % of CPU and leaves its heap grown. Once per run,
 * short allowed runs alternate unprofiled and profiled on the first gateway,
 * to show the profiler's overhead.
 *
 * Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50),
 * BENCH_UNLOADED_SECONDS (3; 0 skips phase 4), BENCH_STORES (sqlite,postgres),
 * BENCH_WORKERS (1,2), BENCH_PROFILE (1; 0 runs the gateway without the preload),
 * BENCH_PROFILE_SECONDS (5; the profiled run after each measured one),
 * BENCH_PROFILE_INTERVAL_US (1000; the profiler's sampling interval),
 * BENCH_PROFILE_OVERHEAD_ROUNDS (3; 0 skips the overhead check) and
 * BENCH_PROFILE_OVERHEAD_SECONDS (3), BENCH_PROFILE_OUT (a directory to keep the
 * .cpuprofile files in, one folder per store and workers setting),
 * BENCH_GATEWAY_NODE_ARGS (more node flags for the gateway, e.g. --heap-prof),
 * BENCH_SQLITE_SYNCHRONOUS (normal | full), DATABASE_URL (the server to make a
 * throwaway database on per postgres run), BENCH_TELEMETRY_ROUNDS (3; 0 skips
 * phase 5), BENCH_TELEMETRY_SECONDS (5; each run of phase 5) and BENCH_ONLY
 * (telemetry: phases 2–4 skipped).
 *
 * Exits 0 when the measurement completed, whatever the figures; 1 when it
 * could not measure (a child failed, a request failed, the run overran).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/postgres.ts';
import { runLoad, type LoadOptions, type LoadResult } from './support/autocannon.ts';
import { buildIfStale, startCompiledGateway, type CompiledGateway } from './support/compiled-gateway.ts';
import { collapse, cpuOf, cpuWindow, describeShare } from './support/cpu.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { BENCH_CONNECTION, benchConfigYaml, benchKeys, postgresStore, sqliteStore } from './support/gateway-config.ts';
import { report, type Phase, type Run, type Settings, type StoreName } from './support/gateway-report.ts';
import { PROFILER_MODULE, startProfiles, stopProfiles, summariseProfiles } from './support/phase-profiles.ts';
import { killAllChildren, spawnTs, type Child } from './support/procs.ts';
import { peakRss } from './support/rss.ts';
import { runMain } from './support/run-main.ts';
import { measureTelemetryCost, TELEMETRY_VARIANTS, telemetryCostReport } from './support/telemetry-cost.ts';

function list(name: string, fallback: string): string[] {
  return (process.env[name] || fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

const seconds = envNumber('BENCH_SECONDS', 10);
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2);
const connections = envNumber('BENCH_CONNECTIONS', 50, { integer: true, min: 1 });
const unloadedSeconds = envNumber('BENCH_UNLOADED_SECONDS', 3);
const profiling = process.env['BENCH_PROFILE'] !== '0' && envNumber('BENCH_PROFILE_SECONDS', 5) > 0;
const profileSeconds = envNumber('BENCH_PROFILE_SECONDS', 5);
const overheadRounds = envNumber('BENCH_PROFILE_OVERHEAD_ROUNDS', 3, { integer: true, min: 0 });
const overheadSeconds = envNumber('BENCH_PROFILE_OVERHEAD_SECONDS', 3);
const overheadCheck = profiling && overheadRounds > 0 && overheadSeconds > 0;
const profileOut = process.env['BENCH_PROFILE_OUT'];
const gatewayNodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const synchronous = process.env['BENCH_SQLITE_SYNCHRONOUS'] === 'full' ? 'full' : 'normal';
const stores = list('BENCH_STORES', 'sqlite,postgres').map((s) => {
  if (s !== 'sqlite' && s !== 'postgres') throw new Error(`BENCH_STORES: ${s} is neither sqlite nor postgres`);
  return s as StoreName;
});
const workersList = list('BENCH_WORKERS', '1,2').map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`BENCH_WORKERS: ${w} is not a number of workers (1-64)`);
  return n;
});
const lowestWorkers = Math.min(...workersList);
const telemetryRounds = envNumber('BENCH_TELEMETRY_ROUNDS', 3, { integer: true, min: 0 });
const telemetrySeconds = envNumber('BENCH_TELEMETRY_SECONDS', 5);
// BENCH_ONLY=telemetry: the direct baseline and phase 5 alone, for more rounds of it in the same time.
const telemetryOnly = process.env['BENCH_ONLY'] === 'telemetry';

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The whole run is bounded: the build, every phase with its warm-up, starting and stopping each gateway.
const runs = stores.length * workersList.length;
const telemetryBudget = telemetryRounds > 0 ? TELEMETRY_VARIANTS.length * (telemetryRounds * (telemetrySeconds + 3) + warmup + 60) : 0;
const budgetMs = ((1 + 2 * runs) * (warmup + seconds + profileSeconds + 10) + (overheadCheck ? 2 * overheadRounds * (overheadSeconds + 3) : 0) + stores.length * 2 * (unloadedSeconds + 1) + runs * 60 + telemetryBudget + 300) * 1000;
const watchdog = startWatchdog(budgetMs, killAllChildren, log);

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const token = `tok_${randomBytes(16).toString('hex')}`;
const { agent, human } = benchKeys();
const agentHeaders = { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' };
const allowedBody = JSON.stringify({ connection: BENCH_CONNECTION, input: { method: 'GET', path: '/x' }, reason: 'bench' });
const heldBody = JSON.stringify({ connection: BENCH_CONNECTION, input: { method: 'POST', path: '/x', body: { n: 1 } }, reason: 'bench' });

let upstream: Child<{ url: string }>;
const problems: string[] = [];

async function upstreamStats(): Promise<{ authorized: number; unauthorized: number }> {
  const res = await fetch(`${upstream.ready.url}/__stats`);
  return (await res.json()) as { authorized: number; unauthorized: number };
}

/** Stops the run when the upstream or a process of the gateway has died. */
function checkAlive(gw?: CompiledGateway): void {
  if (upstream.exited()) throw new Error('the upstream exited during the run');
  if (gw?.exited()) throw new Error('a process of the gateway exited during the run (a worker restarted, or the gateway stopped)');
}

/** One run with the CPU of every process and, when `profileAs` is given, a CPU profile of each gateway process. */
async function run(label: string, opts: LoadOptions, gw?: CompiledGateway, profileAs?: { dir: string; name: string }): Promise<Phase> {
  const procs: Record<string, number | 'self'> = { upstream: upstream.pid, autocannon: 'self' };
  for (const pid of gw?.pids ?? []) procs[`gateway.${pid}`] = pid;
  if (profileAs && gw) {
    startProfiles(profileAs.dir, profileAs.name, gw.pids);
    // Starting the profiler walks the code already compiled: not part of the run.
    await sleep(200);
  }
  log(`bench: ${label}: ${opts.connections} connections, ${opts.duration} s${profileAs ? ', profiled' : ''}`);
  const window = cpuWindow(procs);
  const r: LoadResult = await runLoad(opts);
  const cpu = window.end();
  checkAlive(gw);
  const profile = profileAs && gw ? summariseProfiles(await stopProfiles(profileAs.dir, profileAs.name, gw.pids)) : undefined;
  const ok = r.raw['2xx'];
  const gatewayCpu = cpuOf(cpu, 'gateway');
  const p: Phase = { label, load: r, warmupOk: 0, ok, okPerSecond: ok / r.raw.duration, cpu: collapse(cpu, 'gateway'), cpuPerActionUs: gw ? (gatewayCpu / Math.max(1, ok)) * 1e6 : Number.NaN, profile, profiled: undefined };
  log(`bench: ${label}: ${fmt(p.okPerSecond)} 2xx/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, non-2xx ${r.raw.non2xx}, errors ${r.raw.errors}, timeouts ${r.raw.timeouts}`);
  log(`bench: ${label}: ${gw ? `gateway CPU ${fmt(p.cpuPerActionUs)} us per action; ` : ''}cpu ${describeShare(p.cpu)}`);
  if (r.failures > 0 || r.raw.timeouts > 0) {
    problems.push(`${label}: ${r.raw.non2xx} non-2xx, ${r.raw.errors} errors, ${r.raw.timeouts} timeouts; status codes ${JSON.stringify(r.raw.statusCodeStats)}`);
  }
  return p;
}

/** A warm-up (not measured), then the measured run (never profiled: the profiler costs the gateway a few % of CPU). */
async function phase(label: string, opts: LoadOptions, gw?: CompiledGateway): Promise<Phase> {
  let warmupOk = 0;
  if (warmup > 0) {
    log(`bench: ${label}: warm-up ${warmup} s`);
    warmupOk = (await runLoad({ ...opts, duration: warmup })).raw['2xx'];
    checkAlive(gw);
  }
  const measured = await run(label, opts, gw);
  return { ...measured, warmupOk, profiled: undefined };
}

/** An allowed GET goes through to the upstream with the gateway's credential; a POST is held. */
async function sanity(url: string): Promise<void> {
  const before = await upstreamStats();
  const allowed = await fetch(`${url}/v1/actions`, { method: 'POST', headers: agentHeaders, body: allowedBody });
  const a = (await allowed.json()) as { status?: string; result?: { status?: number } };
  if (allowed.status !== 200 || a.status !== 'succeeded' || a.result?.status !== 200) {
    throw new Error(`sanity: an allowed GET did not succeed through the gateway: HTTP ${allowed.status} ${JSON.stringify(a).slice(0, 300)}`);
  }
  const after = await upstreamStats();
  if (after.authorized !== before.authorized + 1) throw new Error('sanity: the allowed GET did not reach the upstream with the credential');
  const held = await fetch(`${url}/v1/actions`, { method: 'POST', headers: agentHeaders, body: heldBody });
  const h = (await held.json()) as { status?: string };
  if (held.status !== 202 || h.status !== 'pending') throw new Error(`sanity: a POST was not held: HTTP ${held.status} ${JSON.stringify(h).slice(0, 300)}`);
}

async function measure(store: StoreName, workers: number): Promise<Run> {
  const name = `${store}-w${workers}`;
  const dir = mkdtempSync(join(tmpdir(), `cs-bench-${name}-`));
  const profileDir = profileOut ? join(profileOut, name) : join(dir, 'profiles');
  let db: { url: string; drop(): Promise<void> } | undefined;
  let gw: CompiledGateway | undefined;
  try {
    let storeYaml: string;
    if (store === 'postgres') {
      db = await createTestDatabase();
      if (!db) throw new Error('PostgreSQL is not reachable (set DATABASE_URL)');
      storeYaml = postgresStore(db.url);
    } else {
      storeYaml = sqliteStore(join(dir, 'countersign.db'), synchronous);
    }
    const configFile = join(dir, 'countersign.yaml');
    writeFileSync(configFile, benchConfigYaml({ store: storeYaml, keyDir: join(dir, 'keys'), upstreamUrl: upstream.ready.url, agentKeyHash: agent.hash, humanKeyHash: human.hash, workers }));
    mkdirSync(profileDir, { recursive: true });
    gw = await startCompiledGateway({
      name,
      configFile,
      workers,
      env: { UPSTREAM_TOKEN: token, ...(profiling ? { BENCH_PROFILE_DIR: profileDir } : {}) },
      ...(profiling ? { preload: PROFILER_MODULE } : {}),
      nodeArgs: gatewayNodeArgs,
      log,
    });
    log(`bench: ${name}: gateway ${gw.url}, processes ${gw.pids.join(', ')}`);
    await sanity(gw.url);
    // Peak RSS per process over the measured runs, which all come before any profiled one: a profiled run leaves the
    // gateway's heap grown by the profiler's own allocations, which no reset of the peak takes back.
    const peaks = gw.pids.map(() => 0);
    const markPeaks = () => gw!.pids.forEach((pid, i) => (peaks[i] = Math.max(peaks[i]!, peakRss(pid) ?? 0)));
    const load = (body: string, duration = seconds): LoadOptions => ({ url: `${gw!.url}/v1/actions`, connections, duration, method: 'POST', headers: agentHeaders, body });
    const profileAs = (what: string) => (profiling ? { dir: profileDir, name: `${name}-${what}` } : undefined);
    const profiledRun = (label: string, opts: LoadOptions, what: string) =>
      profiling ? run(`${label} (profiled)`, { ...opts, duration: profileSeconds }, gw, profileAs(what)) : Promise.resolve(undefined);

    const before = await upstreamStats();
    const allowedMeasured = await phase(`${name} allowed`, load(allowedBody), gw);
    markPeaks();
    const after = await upstreamStats();
    const forwarded = after.authorized - before.authorized;
    const answered = allowedMeasured.warmupOk + allowedMeasured.ok;
    if (forwarded < answered) problems.push(`${name}: the gateway answered ${answered} allowed actions with 2xx but the upstream saw only ${forwarded} calls`);
    // Each run of autocannon ends with up to one request in flight per connection, forwarded but never counted as answered.
    const inFlight = connections * ((warmup > 0 ? 1 : 0) + 1);
    if (forwarded > answered + inFlight) problems.push(`${name}: the upstream saw ${forwarded} calls for ${answered} allowed actions answered (+ at most ${inFlight} in flight): some were forwarded twice`);
    if (after.unauthorized !== before.unauthorized) problems.push(`${name}: the upstream saw ${after.unauthorized - before.unauthorized} calls without the gateway's credential`);
    const heldMeasured = await phase(`${name} held`, load(heldBody), gw);
    markPeaks();
    const heldCount = heldMeasured.load.raw.statusCodeStats['202']?.count ?? 0;
    if (heldCount !== heldMeasured.ok) problems.push(`${name} held: ${heldMeasured.ok - heldCount} 2xx answers were not 202 (not held)`);

    // The profiles, after every measured run of this gateway.
    const allowed: Phase = { ...allowedMeasured, profiled: await profiledRun(`${name} allowed`, load(allowedBody), 'allowed') };
    let overhead: Run['overhead'];
    if (overheadCheck && store === stores[0] && workers === workersList[0]) {
      // Alternating short runs on the same warm gateway (A B, B A, ...), so drift in the machine's other load falls on both.
      overhead = { unprofiled: [], profiled: [] };
      for (let i = 0; i < overheadRounds; i++) {
        for (const profiled of i % 2 ? [true, false] : [false, true]) {
          const label = `${name} allowed ${profiled ? 'profiled' : 'not profiled'} (overhead ${i + 1}/${overheadRounds})`;
          const p = await run(label, load(allowedBody, overheadSeconds), gw, profiled ? profileAs(`overhead${i + 1}`) : undefined);
          (profiled ? overhead.profiled : overhead.unprofiled).push(p);
        }
      }
    }
    const held: Phase = { ...heldMeasured, profiled: await profiledRun(`${name} held`, load(heldBody), 'held') };

    let unloaded: Run['unloaded'];
    if (unloadedSeconds > 0 && workers === lowestWorkers) {
      log(`bench: ${name} unloaded: 1 connection, ${unloadedSeconds} s each, direct then via the gateway`);
      const direct = await runLoad({ url: `${upstream.ready.url}/x`, connections: 1, duration: unloadedSeconds, headers: { authorization: `Bearer ${token}` } });
      const gateway = await runLoad({ ...load(allowedBody, unloadedSeconds), connections: 1 });
      unloaded = { direct, gateway };
      for (const [what, r] of Object.entries(unloaded)) {
        if (r.failures > 0 || r.raw.timeouts > 0) problems.push(`${name} unloaded ${what}: ${r.raw.non2xx} non-2xx, ${r.raw.errors} errors, ${r.raw.timeouts} timeouts`);
      }
    }
    checkAlive(gw);
    return { store, workers, pids: gw.pids, allowed, held, overhead, unloaded, forwarded, answered, heldCount, peakRssBytes: peaks };
  } finally {
    await gw?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  buildIfStale(log);
  upstream = await spawnTs<{ url: string }>('upstream', here('./support/upstream.ts'), { UPSTREAM_TOKEN: token });
  const loadBefore = loadavg();
  log(`bench: upstream ${upstream.ready.url} (pid ${upstream.pid}); loadavg ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  try {
    const direct = await phase('direct', { url: `${upstream.ready.url}/x`, connections, duration: seconds, headers: { authorization: `Bearer ${token}` } });
    const results: Run[] = [];
    if (!telemetryOnly) for (const store of stores) for (const workers of workersList) results.push(await measure(store, workers));
    const telemetry =
      telemetryRounds > 0
        ? await measureTelemetryCost({
            store: stores[0]!,
            workers: lowestWorkers,
            rounds: telemetryRounds,
            seconds: telemetrySeconds,
            warmup,
            connections,
            upstreamUrl: upstream.ready.url,
            token,
            keys: { agent, human },
            body: allowedBody,
            synchronous,
            run: (label, opts, gw) => run(label, opts, gw),
            warm: async (opts) => void (await runLoad(opts)),
            log,
          })
        : undefined;
    const settings: Settings = { seconds, warmup, connections, unloadedSeconds, stores, workersList, profiling, loadBefore, loadAfter: loadavg() };
    process.stdout.write(report(settings, direct, results, problems));
    if (telemetry) process.stdout.write(telemetryCostReport(telemetry));
    return problems.length ? 1 : 0;
  } finally {
    await upstream.stop().catch(() => undefined);
    killAllChildren();
  }
}

runMain(main, watchdog);
