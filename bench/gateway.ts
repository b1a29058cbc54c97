/**
 * `npm run bench:gateway`: the gateway's cost on the hot path, measured with
 * autocannon against the same upstream called directly, in the same run.
 *
 *   1. direct   GET upstream/x                          (the baseline)
 *   2. allowed  POST /v1/actions {method: GET}           (policy allow → forwarded)
 *   3. held     POST /v1/actions {method: POST}          (policy approve → 202, durable write)
 *   4. unloaded phases 1 and 2 again with one connection (the intrinsic added latency)
 *
 * The upstream and the gateway each run in their own process; this process
 * only drives load. Peak resident memory of the gateway is sampled from
 * /proc during phases 2 and 3 and read from VmHWM at the end.
 *
 * Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50),
 * BENCH_UNLOADED_SECONDS (3; 0 skips phase 4), BENCH_GATEWAY_NODE_ARGS (extra node
 * flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * BENCH_SQLITE_SYNCHRONOUS (normal | full).
 *
 * Exits 0 when the measurement completed, whatever the figures; 1 when it
 * could not measure (a child failed, a request failed, the run overran).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber, stopOnSignals } from './support/env.ts';
import { runLoad, type LoadResult } from './support/autocannon.ts';
import { cpuWindow, describeShare, type CpuShare } from './support/cpu.ts';
import { runMain } from './support/run-main.ts';
import { killAllChildren, spawnTs, type Child } from './support/procs.ts';
import { peakRss, sampleRss } from './support/rss.ts';

const TARGETS = { ratio: 0.5, addedP50Ms: 2, heldPerSecond: 2000, peakRssMb: 250 } as const;

const seconds = envNumber('BENCH_SECONDS', 10);
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2);
const connections = envNumber('BENCH_CONNECTIONS', 50);
const unloadedSeconds = envNumber('BENCH_UNLOADED_SECONDS', 3);
const gatewayNodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);

const log = (line: string) => process.stderr.write(`${line}\n`);
const mb = (bytes: number) => bytes / (1024 * 1024);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

// The whole run is bounded: setup, three loaded phases with warm-ups, phase 4, teardown.
const budgetMs = (3 * (warmup + seconds) + 2 * (unloadedSeconds + 1) + 90) * 1000;
const watchdog = setTimeout(() => {
  log(`bench: overran its ${budgetMs / 1000} s budget; stopping`);
  killAllChildren();
  process.exit(1);
}, budgetMs);
watchdog.unref();

stopOnSignals(killAllChildren, log);

interface GatewayReady {
  url: string;
  agentKey: string;
  connection: string;
}

async function upstreamStats(url: string): Promise<{ authorized: number; unauthorized: number }> {
  const res = await fetch(`${url}/__stats`);
  return (await res.json()) as { authorized: number; unauthorized: number };
}

/** The child processes; a phase stops the run as soon as one has died. */
const children: Child<unknown>[] = [];

function checkChildren(): void {
  const dead = children.filter((c) => c.exited());
  if (dead.length) throw new Error(`${dead.map((c) => c.name).join(' and ')} exited during the run`);
}

/** The processes whose CPU is accounted during each measured run. */
let accounted: Record<string, number | 'self'> = { autocannon: 'self' };

type PhaseResult = LoadResult & { warmupOk: number; cpu: CpuShare };

/** A warm-up run (not measured) followed by the measured run. */
async function phase(label: string, opts: Parameters<typeof runLoad>[0]): Promise<PhaseResult> {
  let warmupOk = 0;
  if (warmup > 0) {
    log(`bench: ${label}: warm-up ${warmup} s`);
    const w = await runLoad({ ...opts, duration: warmup });
    warmupOk = w.raw['2xx'];
    checkChildren();
  }
  log(`bench: ${label}: ${opts.connections} connections, ${opts.duration} s`);
  const window = cpuWindow(accounted);
  const r = await runLoad(opts);
  const cpu = window.end();
  checkChildren();
  log(
    `bench: ${label}: ${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, ` +
      `non-2xx ${r.raw.non2xx}, errors ${r.raw.errors}, timeouts ${r.raw.timeouts}`,
  );
  log(`bench: ${label}: cpu ${describeShare(cpu)}`);
  return { ...r, warmupOk, cpu };
}

async function sanity(gw: GatewayReady, headers: Record<string, string>): Promise<void> {
  const allowed = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ connection: gw.connection, input: { method: 'GET', path: '/x' }, reason: 'bench sanity' }),
  });
  const a = (await allowed.json()) as { status?: string; result?: { status?: number } };
  if (allowed.status !== 200 || a.status !== 'succeeded' || a.result?.status !== 200) {
    throw new Error(`sanity: an allowed GET did not succeed through the gateway: HTTP ${allowed.status} ${JSON.stringify(a).slice(0, 300)}`);
  }
  const held = await fetch(`${gw.url}/v1/actions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ connection: gw.connection, input: { method: 'POST', path: '/x', body: { n: 1 } }, reason: 'bench sanity' }),
  });
  const h = (await held.json()) as { status?: string };
  if (held.status !== 202 || h.status !== 'pending') {
    throw new Error(`sanity: a POST was not held: HTTP ${held.status} ${JSON.stringify(h).slice(0, 300)}`);
  }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  const token = `tok_${randomBytes(16).toString('hex')}`;
  const problems: string[] = [];
  try {
    const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
    const upstream = await spawnTs<{ url: string }>('upstream', here('./support/upstream.ts'), { UPSTREAM_TOKEN: token });
    children.push(upstream);
    const gateway = await spawnTs<GatewayReady>(
      'gateway',
      here('./support/gateway-process.ts'),
      { BENCH_DIR: dir, UPSTREAM_URL: upstream.ready.url, UPSTREAM_TOKEN: token },
      { nodeArgs: gatewayNodeArgs },
    );
    children.push(gateway);
    const gw = gateway.ready;
    log(`bench: upstream ${upstream.ready.url} (pid ${upstream.pid}), gateway ${gw.url} (pid ${gateway.pid}), store ${dir}`);
    accounted = { gateway: gateway.pid, upstream: upstream.pid, autocannon: 'self' };
    const loadBefore = loadavg()[0] ?? 0;

    const agentHeaders = { authorization: `Bearer ${gw.agentKey}`, 'content-type': 'application/json' };
    await sanity(gw, agentHeaders);

    // 1. direct: the same request the gateway makes, with the same credential.
    const direct = await phase('direct', {
      url: `${upstream.ready.url}/x`,
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${token}` },
    });

    // 2 + 3 are sampled for the gateway's resident memory.
    const rss = sampleRss(gateway.pid, 100);
    const before = await upstreamStats(upstream.ready.url);
    const allowedBody = JSON.stringify({ connection: gw.connection, input: { method: 'GET', path: '/x' }, reason: 'bench' });
    const allowed = await phase('gateway allowed', {
      url: `${gw.url}/v1/actions`,
      connections,
      duration: seconds,
      method: 'POST',
      headers: agentHeaders,
      body: allowedBody,
    });
    const after = await upstreamStats(upstream.ready.url);
    const heldBody = JSON.stringify({ connection: gw.connection, input: { method: 'POST', path: '/x', body: { n: 1 } }, reason: 'bench' });
    const held = await phase('gateway held', {
      url: `${gw.url}/v1/actions`,
      connections,
      duration: seconds,
      method: 'POST',
      headers: agentHeaders,
      body: heldBody,
    });
    rss.stop();
    const hwmAfterHeld = peakRss(gateway.pid);

    // 4. unloaded: one connection, so the added latency is the gateway's own, not queueing.
    let unloaded: { direct: LoadResult; gateway: LoadResult } | undefined;
    if (unloadedSeconds > 0) {
      log(`bench: unloaded: 1 connection, ${unloadedSeconds} s each`);
      const d = await runLoad({ url: `${upstream.ready.url}/x`, connections: 1, duration: unloadedSeconds, headers: { authorization: `Bearer ${token}` } });
      const g = await runLoad({ url: `${gw.url}/v1/actions`, connections: 1, duration: unloadedSeconds, method: 'POST', headers: agentHeaders, body: allowedBody });
      unloaded = { direct: d, gateway: g };
      for (const [name, r] of Object.entries(unloaded)) {
        if (r.failures > 0) problems.push(`unloaded ${name}: ${r.raw.non2xx} non-2xx, ${r.raw.errors} errors`);
      }
    }

    checkChildren();
    const hwm = peakRss(gateway.pid);
    const peakBytes = Math.max(rss.maxBytes, hwm ?? 0);

    // Every failure is an error of the run, not a figure.
    for (const [name, r] of [['direct', direct], ['gateway allowed', allowed], ['gateway held', held]] as const) {
      if (r.failures > 0 || r.raw.timeouts > 0) {
        problems.push(`${name}: ${r.raw.non2xx} non-2xx, ${r.raw.errors} errors, ${r.raw.timeouts} timeouts; status codes ${JSON.stringify(r.raw.statusCodeStats)}`);
      }
    }
    const forwarded = after.authorized - before.authorized;
    const answered = allowed.warmupOk + allowed.raw['2xx'];
    if (forwarded < answered) problems.push(`the gateway answered ${answered} allowed actions with 2xx but the upstream saw only ${forwarded} calls`);
    if (after.unauthorized !== before.unauthorized) problems.push(`the upstream saw ${after.unauthorized - before.unauthorized} calls without the gateway's credential`);
    const heldCount = held.raw.statusCodeStats['202']?.count ?? 0;

    const ratio = allowed.requestsPerSecond / direct.requestsPerSecond;
    const addedP50 = allowed.p50 - direct.p50;
    const addedP99 = allowed.p99 - direct.p99;
    const heldPerSecond = heldCount / held.raw.duration;
    const peakMb = mb(peakBytes);
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

    const cpu = cpus();
    const envShown = ['BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_UNLOADED_SECONDS', 'BENCH_GATEWAY_NODE_ARGS', 'BENCH_SQLITE_SYNCHRONOUS']
      .filter((k) => process.env[k])
      .map((k) => `${k}=${JSON.stringify(process.env[k])} `)
      .join('');
    const out: string[] = [];
    out.push('');
    out.push('Countersign gateway benchmark');
    out.push(`  command   ${envShown}npm run bench:gateway`);
    out.push(`  date      ${new Date().toISOString()}`);
    out.push(`  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(mb(totalmem()))} MB RAM, Linux ${release()}`);
    out.push(`  node      ${process.version}`);
    out.push(`  load      autocannon, ${connections} connections, ${seconds} s per phase after ${warmup} s warm-up; upstream, gateway and autocannon in 3 processes on the same machine`);
    out.push(`  loadavg   ${fmt(loadBefore, 2)} before the run (1 min), ${fmt(loadavg()[0] ?? 0, 2)} after`);
    out.push('');
    const row = (a: string, b: string, c: string) => `  ${a.padEnd(34)}${b.padStart(14)}${c.padStart(14)}`;
    out.push(row('', 'direct', 'via gateway'));
    out.push(row('requests/s (mean of 1 s samples)', fmt(direct.requestsPerSecond), fmt(allowed.requestsPerSecond)));
    out.push(row('latency p50 (ms)', fmt(direct.p50, 2), fmt(allowed.p50, 2)));
    out.push(row('latency p99 (ms)', fmt(direct.p99, 2), fmt(allowed.p99, 2)));
    if (unloaded) {
      out.push(row('unloaded p50 (ms, 1 connection)', fmt(unloaded.direct.p50, 2), fmt(unloaded.gateway.p50, 2)));
      out.push(row('unloaded p99 (ms, 1 connection)', fmt(unloaded.direct.p99, 2), fmt(unloaded.gateway.p99, 2)));
      out.push(row('unloaded requests/s', fmt(unloaded.direct.requestsPerSecond), fmt(unloaded.gateway.requestsPerSecond)));
    }
    out.push(row('responses / failed', `${direct.responses} / ${direct.failures}`, `${allowed.responses} / ${allowed.failures}`));
    out.push('');
    out.push('  CPU during each measured phase, in cores (the machine has ' + cpus().length + '):');
    out.push(`    direct   ${describeShare(direct.cpu)}`);
    out.push(`    allowed  ${describeShare(allowed.cpu)}`);
    out.push(`    held     ${describeShare(held.cpu)}`);
    const perAction = (r: PhaseResult) => ((r.cpu.cpuSeconds['gateway'] ?? 0) / Math.max(1, r.responses)) * 1e6;
    const perCall = ((direct.cpu.cpuSeconds['upstream'] ?? 0) / Math.max(1, direct.responses)) * 1e6;
    out.push(`    CPU per request: upstream ${fmt(perCall)} us (direct); gateway ${fmt(perAction(allowed))} us per allowed action, ${fmt(perAction(held))} us per held action`);
    out.push('');
    out.push(`  throughput ratio (gateway / direct)   ${fmt(ratio * 100, 1)} %`);
    out.push(`  added latency p50 / p99 (50 conns)    ${fmt(addedP50, 2)} ms / ${fmt(addedP99, 2)} ms`);
    if (unloaded) {
      out.push(`  added latency p50 / p99 (1 conn)      ${fmt(unloaded.gateway.p50 - unloaded.direct.p50, 2)} ms / ${fmt(unloaded.gateway.p99 - unloaded.direct.p99, 2)} ms`);
    }
    out.push(`  upstream calls made by the gateway    ${forwarded} (the gateway answered ${answered} allowed actions, warm-up included)`);
    out.push(`  held actions created per second       ${fmt(heldPerSecond)} (${heldCount} in ${fmt(held.raw.duration, 1)} s; p50 ${fmt(held.p50, 2)} ms, p99 ${fmt(held.p99, 2)} ms)`);
    out.push(`  gateway peak RSS                      ${fmt(peakMb, 1)} MB (VmRSS sampled every 100 ms in phases 2-3: ${fmt(mb(rss.maxBytes), 1)} MB max, ${rss.samples} samples; VmHWM ${hwmAfterHeld === undefined ? 'n/a' : fmt(mb(hwmAfterHeld), 1)} MB after phase 3, ${hwm === undefined ? 'n/a' : fmt(mb(hwm), 1)} MB at the end; ${fmt(mb(rss.firstBytes), 1)} MB idle before phase 2)`);
    out.push('');
    out.push('  target                                     measured      result');
    const t = (name: string, measured: string, ok: boolean) => `  ${name.padEnd(40)}${measured.padStart(12)}      ${verdict(ok)}`;
    out.push(t(`throughput >= ${TARGETS.ratio * 100}% of direct`, `${fmt(ratio * 100, 1)} %`, ratio >= TARGETS.ratio));
    out.push(t(`added p50 <= ${TARGETS.addedP50Ms} ms`, `${fmt(addedP50, 2)} ms`, addedP50 <= TARGETS.addedP50Ms));
    out.push(t(`held actions >= ${fmt(TARGETS.heldPerSecond)}/s (SQLite)`, `${fmt(heldPerSecond)}/s`, heldPerSecond >= TARGETS.heldPerSecond));
    out.push(t(`peak memory <= ${TARGETS.peakRssMb} MB`, `${fmt(peakMb, 1)} MB`, peakMb <= TARGETS.peakRssMb));
    if (problems.length) {
      out.push('');
      out.push('  ERRORS (the figures above are not valid):');
      for (const p of problems) out.push(`    - ${p}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main, watchdog);
