/**
 * `npm run bench:replicas`: what PostgreSQL and a second replica cost and
 * give, in one run, on the same machine and against the same upstream:
 *
 *   a. one gateway process on SQLite
 *   b. one gateway replica on PostgreSQL
 *   c. two gateway replicas on one PostgreSQL database, the load split
 *      evenly between them (two autocannon instances, half the connections each)
 *
 * For each: allowed actions/s (policy allow → forwarded) and held actions/s
 * (policy approve → 202, durable write), with the gateway processes' CPU per
 * action. Then the cross-replica wake-up: an agent long-polls its held request
 * on replica A, a human approves it on replica B, and the time from sending
 * the approval to the waiter's answer is measured over BENCH_WAKEUPS requests.
 *
 * Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50),
 * BENCH_WAKEUPS (200), DATABASE_URL (the server to make throwaway databases on),
 * BENCH_GATEWAY_NODE_ARGS (more node flags for the gateways, as in bench:gateway),
 * BENCH_PHASES (a,b,c: the phases to run; the ratios need all three; d, two
 * gateways as in c but each on a database of its own, is run only when named),
 * BENCH_PROFILE_DIR (a CPU profile of each gateway over each measured window,
 * written there as `<phase>-<allowed|held>.<pid>.cpuprofile`, with the top
 * self-time entries per replica on stderr).
 *
 * Exits 0 when the measurement completed, whatever the figures; 1 when it
 * could not measure (a child failed, a request failed, the run overran).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/postgres.ts';
import { benchConfigYaml, benchKeys, postgresStore, sqliteStore } from './support/gateway-config.ts';
import { runLoad, type LoadResult } from './support/autocannon.ts';
import { cpuWindow, describeShare, type CpuShare } from './support/cpu.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { killAllChildren, spawnTs, type Child } from './support/procs.ts';
import { procDetail } from './support/proc-detail.ts';
import { PROFILER_MODULE, startProfiles, stopProfiles, summariseProfiles } from './support/phase-profiles.ts';
import { problemLines, runMain } from './support/run-main.ts';

const TARGETS = { twoOverOne: 1.4, wakeupP99Ms: 100, pgOverSqliteCpu: 1.5 } as const;

const seconds = envNumber('BENCH_SECONDS', 10);
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2);
const connections = envNumber('BENCH_CONNECTIONS', 50);
const wakeups = envNumber('BENCH_WAKEUPS', 200);
const gatewayNodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const phasesWanted = new Set((process.env['BENCH_PHASES'] || 'a,b,c').split(',').map((s) => s.trim()));
const profileDir = process.env['BENCH_PROFILE_DIR'] || undefined;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

const budgetMs = (6 * (warmup + seconds) + wakeups * 0.2 + 180) * 1000;
const watchdog = startWatchdog(budgetMs, killAllChildren, log);

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children: Child<unknown>[] = [];
const { agent, human } = benchKeys();


const agentHeaders = { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' };
const humanHeaders = { authorization: `Bearer ${human.key}`, 'content-type': 'application/json' };
const allowedBody = JSON.stringify({ connection: 'bench-api', input: { method: 'GET', path: '/x' }, reason: 'bench' });
const heldBody = JSON.stringify({ connection: 'bench-api', input: { method: 'POST', path: '/x', body: { n: 1 } }, reason: 'bench' });

interface Measured {
  readonly requestsPerSecond: number;
  readonly responses: number;
  readonly failures: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpu: CpuShare;
  /** Gateway CPU (all replicas) per 2xx response, in µs. */
  readonly cpuPerActionUs: number;
}

/** Load split evenly over the replicas' URLs (one autocannon per replica), warm-up first. */
async function load(urls: readonly string[], body: string, procs: Record<string, number | 'self'>, profileAs?: string): Promise<Measured> {
  const per = Math.max(1, Math.floor(connections / urls.length));
  const opts = (url: string, duration: number) => ({ url: `${url}/v1/actions`, connections: per, duration, method: 'POST' as const, headers: agentHeaders, body });
  if (warmup > 0) await Promise.all(urls.map((u) => runLoad(opts(u, warmup))));
  const gateways = Object.entries(procs).filter(([k]) => k.startsWith('gateway')) as [string, number][];
  if (profileDir && profileAs) startProfiles(profileDir, profileAs, gateways.map(([, pid]) => pid));
  const window = cpuWindow(procs);
  const detail = procDetail(gateways.map(([, pid]) => pid));
  const results: LoadResult[] = await Promise.all(urls.map((u) => runLoad(opts(u, seconds))));
  const cpu = window.end();
  log(`bench: ${profileAs ?? ''} gateways: ${detail.end(results.reduce((s, r) => s + r.responses - r.failures, 0))}`);
  if (profileDir && profileAs) {
    const files = await stopProfiles(profileDir, profileAs, gateways.map(([, pid]) => pid));
    const ok = results.reduce((s, r) => s + r.responses - r.failures, 0);
    gateways.forEach(([name], i) => {
      const p = summariseProfiles([files[i]!], 25);
      log(`bench: profile ${profileAs} ${name} (${files[i]}): ${p.busySamples} busy samples, ${fmt((p.busySamples / Math.max(1, ok)) * 1000, 1)} per 1000 actions of all replicas, idle ${fmt(p.idleShare * 100)}%`);
      for (const e of p.top) log(`    ${fmt(e.percent, 1).padStart(5)}%  ${fmt(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}${e.caller ? ` <- ${e.caller.fn} ${e.caller.where}` : ''}`);
    });
  }
  for (const c of children) if (c.exited()) throw new Error(`${c.name} exited during the run`);
  const responses = results.reduce((s, r) => s + r.responses, 0);
  const failures = results.reduce((s, r) => s + r.failures + r.raw.timeouts, 0);
  const gatewayCpu = Object.entries(cpu.cpuSeconds)
    .filter(([k]) => k.startsWith('gateway'))
    .reduce((s, [, v]) => s + v, 0);
  return {
    requestsPerSecond: results.reduce((s, r) => s + r.requestsPerSecond, 0),
    responses,
    failures,
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    cpu,
    cpuPerActionUs: (gatewayCpu / Math.max(1, responses - failures)) * 1e6,
  };
}

async function startReplicas(n: number, store: string, dir: string, upstreamUrl: string, token: string, first = 0): Promise<Child<{ url: string; pid: number }>[]> {
  const file = join(dir, 'countersign.yaml');
  writeFileSync(file, benchConfigYaml({ store, keyDir: join(dir, 'keys'), upstreamUrl, agentKeyHash: agent.hash, humanKeyHash: human.hash }));
  const started: Child<{ url: string; pid: number }>[] = [];
  // One after the other: the first makes the keys and migrates; the others join what it made.
  for (let i = first; i < first + n; i++) {
    const env = { BENCH_CONFIG: file, UPSTREAM_TOKEN: token, ...(profileDir ? { BENCH_PROFILE_DIR: profileDir } : {}) };
    const nodeArgs = [...gatewayNodeArgs, ...(profileDir ? ['--import', PROFILER_MODULE] : [])];
    const c = await spawnTs<{ url: string; pid: number }>(`gateway-${String.fromCharCode(97 + i)}`, here('./support/replica-process.ts'), env, { readyTimeoutMs: 60_000, nodeArgs });
    children.push(c);
    started.push(c);
  }
  return started;
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

/** Held on A, waited for on A, approved on B: ms from sending the approval to A's answer. */
async function wakeupLatencies(a: string, b: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const held = await post(`${a}/v1/actions`, agentHeaders, heldBody);
    if (held.status !== 202) throw new Error(`wake-up ${i}: the POST was not held (HTTP ${held.status})`);
    const id = held.body.id as string;
    let answered = 0;
    const waiter = fetch(`${a}/v1/requests/${encodeURIComponent(id)}?wait=30&from=pending`, { headers: agentHeaders }).then(async (r) => {
      answered = performance.now();
      return (await r.json()) as { status: string };
    });
    // Give the waiter time to be registered on A before the approval; an early approval would only flatter the figure.
    await new Promise((r) => setTimeout(r, 25));
    const sent = performance.now();
    const review = await post(`${b}/v1/requests/${encodeURIComponent(id)}/reviews`, humanHeaders, JSON.stringify({ verdict: 'approve', comment: 'bench' }));
    if (review.status !== 200) throw new Error(`wake-up ${i}: the approval on B failed (HTTP ${review.status} ${JSON.stringify(review.body).slice(0, 200)})`);
    const final = await waiter;
    if (final.status === 'pending') throw new Error(`wake-up ${i}: the waiter on A answered while the request was still pending`);
    out.push(answered - sent);
  }
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
};

async function main(): Promise<number> {
  const dirs: string[] = [];
  const dbs: { drop(): Promise<void> }[] = [];
  const token = `tok_${randomBytes(16).toString('hex')}`;
  const problems: string[] = [];
  try {
    const upstream = await spawnTs<{ url: string }>('upstream', here('./support/upstream.ts'), { UPSTREAM_TOKEN: token });
    children.push(upstream);
    const loadBefore = loadavg()[0] ?? 0;

    const phases: { name: string; replicas: number; allowed: Measured; held: Measured }[] = [];
    let wake: number[] = [];
    const plan: { name: string; replicas: number; store: () => Promise<string>; separate?: boolean }[] = [
      { name: 'a. SQLite, 1 process', replicas: 1, store: async () => sqliteStore(join(dirs.at(-1)!, 'countersign.db')) },
      { name: 'b. PostgreSQL, 1 replica', replicas: 1, store: pgStore },
      { name: 'c. PostgreSQL, 2 replicas', replicas: 2, store: pgStore },
      // Not run unless asked: c's two processes on the same cores, without sharing a database (no head, no NOTIFY between them).
      { name: 'd. PostgreSQL, 2 gateways on 2 databases', replicas: 2, store: pgStore, separate: true },
    ].filter((p) => phasesWanted.has(p.name[0]!));
    async function pgStore(): Promise<string> {
      const db = await createTestDatabase();
      if (!db) throw new Error('PostgreSQL is not reachable (set DATABASE_URL)');
      dbs.push(db);
      return postgresStore(db.url);
    }
    for (const p of plan) {
      const dir = mkdtempSync(join(tmpdir(), 'cs-bench-replicas-'));
      dirs.push(dir);
      const replicas = p.separate ? [] : await startReplicas(p.replicas, await p.store(), dir, upstream.ready.url, token);
      for (let i = 0; p.separate && i < p.replicas; i++) {
        const own = mkdtempSync(join(tmpdir(), 'cs-bench-replicas-'));
        dirs.push(own);
        replicas.push(...(await startReplicas(1, await p.store(), own, upstream.ready.url, token, i)));
      }
      log(`bench: ${p.name}: ${replicas.map((r) => `${r.name} ${r.ready.url} (pid ${r.pid})`).join(', ')}`);
      const procs: Record<string, number | 'self'> = { upstream: upstream.pid, autocannon: 'self' };
      for (const r of replicas) procs[r.name] = r.pid;
      const urls = replicas.map((r) => r.ready.url);
      log(`bench: ${p.name}: allowed`);
      const allowed = await load(urls, allowedBody, procs, `${p.name[0]}-allowed`);
      log(`bench: ${p.name}: allowed ${fmt(allowed.requestsPerSecond)}/s, ${fmt(allowed.cpuPerActionUs)} us CPU each; ${describeShare(allowed.cpu)}`);
      log(`bench: ${p.name}: held`);
      const held = await load(urls, heldBody, procs, `${p.name[0]}-held`);
      log(`bench: ${p.name}: held ${fmt(held.requestsPerSecond)}/s, ${fmt(held.cpuPerActionUs)} us CPU each; ${describeShare(held.cpu)}`);
      for (const [what, m] of [['allowed', allowed], ['held', held]] as const) {
        if (m.failures > 0) problems.push(`${p.name} ${what}: ${m.failures} failed or timed-out requests`);
      }
      phases.push({ name: p.name, replicas: p.replicas, allowed, held });
      if (p.replicas === 2 && !p.separate) {
        log(`bench: ${p.name}: wake-up latency over ${wakeups} requests (held and awaited on A, approved on B)`);
        wake = await wakeupLatencies(urls[0]!, urls[1]!, wakeups);
      }
      await Promise.all(replicas.map((r) => r.stop()));
      // Stopped on purpose: no longer watched for an exit during a run.
      for (const r of replicas) children.splice(children.indexOf(r), 1);
    }

    const of = (letter: string) => phases.find((p) => p.name.startsWith(letter));
    const [a, b, c] = [of('a'), of('b'), of('c')];
    const cpu = cpus();
    const out: string[] = [];
    out.push('');
    out.push('Countersign replicas benchmark');
    out.push(`  command   npm run bench:replicas${seconds !== 10 ? ` (BENCH_SECONDS=${seconds})` : ''}`);
    out.push(`  date      ${new Date().toISOString()}`);
    out.push(`  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 2 ** 20)} MB RAM, Linux ${release()}, node ${process.version}`);
    out.push(`  load      autocannon, ${connections} connections in all (split evenly over the replicas), ${seconds} s per phase after ${warmup} s warm-up;`);
    out.push('            upstream, gateways, PostgreSQL and autocannon share the machine');
    out.push(`  loadavg   ${fmt(loadBefore, 2)} before the run (1 min), ${fmt(loadavg()[0] ?? 0, 2)} after`);
    out.push('');
    const row = (x: string, ...cols: string[]) => `  ${x.padEnd(40)}${cols.map((s) => s.padStart(14)).join('')}`;
    const heads: Record<string, string> = { a: 'a. SQLite', b: 'b. PG x1', c: 'c. PG x2', d: 'd. PG 2 dbs' };
    out.push(row('', ...phases.map((p) => heads[p.name[0]!]!)));
    out.push(row('allowed actions/s', ...phases.map((p) => fmt(p.allowed.requestsPerSecond))));
    out.push(row('  gateway CPU per allowed action (us)', ...phases.map((p) => fmt(p.allowed.cpuPerActionUs))));
    out.push(row('  p50 / p99 (ms)', ...phases.map((p) => `${fmt(p.allowed.p50, 1)} / ${fmt(p.allowed.p99, 1)}`)));
    out.push(row('held actions/s', ...phases.map((p) => fmt(p.held.requestsPerSecond))));
    out.push(row('  gateway CPU per held action (us)', ...phases.map((p) => fmt(p.held.cpuPerActionUs))));
    out.push(row('  p50 / p99 (ms)', ...phases.map((p) => `${fmt(p.held.p50, 1)} / ${fmt(p.held.p99, 1)}`)));
    out.push('');
    out.push('  CPU during the allowed phases, in cores (the machine has ' + cpu.length + '):');
    for (const p of phases) out.push(`    ${p.name.padEnd(28)} ${describeShare(p.allowed.cpu)}`);
    out.push('');
    out.push(`  cross-replica wake-up (approval sent to B -> waiter on A answered), ${wake.length} requests:`);
    out.push(`    p50 ${fmt(pct(wake, 50), 1)} ms, p90 ${fmt(pct(wake, 90), 1)} ms, p99 ${fmt(pct(wake, 99), 1)} ms, max ${fmt(Math.max(...wake), 1)} ms`);
    out.push('    (includes B recording the review and running the approved action before or while A is woken)');
    out.push('');
    // A phase not run (BENCH_PHASES) leaves its ratios unmeasured (n/a, and MISS).
    const scale = (c?.allowed.requestsPerSecond ?? Number.NaN) / (b?.allowed.requestsPerSecond ?? Number.NaN);
    const cpuRatio = (b?.allowed.cpuPerActionUs ?? Number.NaN) / (a?.allowed.cpuPerActionUs ?? Number.NaN);
    const p99 = pct(wake, 99);
    const t = (name: string, measured: string, ok: boolean) => `  ${name.padEnd(50)}${measured.padStart(12)}      ${ok ? 'PASS' : 'MISS'}`;
    out.push('  target                                                measured      result');
    out.push(t(`(c) >= ${TARGETS.twoOverOne}x (b) in allowed actions/s`, `${fmt(scale, 2)}x`, scale >= TARGETS.twoOverOne));
    out.push(t(`wake-up p99 <= ${TARGETS.wakeupP99Ms} ms`, `${fmt(p99, 1)} ms`, p99 <= TARGETS.wakeupP99Ms));
    out.push(t(`PostgreSQL CPU per allowed action <= ${TARGETS.pgOverSqliteCpu}x SQLite's`, `${fmt(cpuRatio, 2)}x`, cpuRatio <= TARGETS.pgOverSqliteCpu));
    out.push(...problemLines(problems));
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(children.map((ch) => ch.stop().catch(() => undefined)));
    killAllChildren();
    for (const db of dbs) await db.drop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

runMain(main, watchdog);
