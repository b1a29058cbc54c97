/**
 * `npm run bench:auth`: the allowed path (POST /v1/actions, policy allow →
 * forwarded upstream) with a JWT bearer against the same with an API key,
 * in the same run against the same gateway. The token is an RS256 JWT from
 * a local issuer (JWKS over HTTP, fetched once and cached by kid); each
 * request verifies its signature, issuer, audience and times.
 *
 * The two credentials alternate in rounds (key, token, key, token, …) so
 * that drift of the machine hits both alike; the figures are the means of
 * the rounds. Target: JWT costs no more than 25 % of throughput.
 *
 * Environment: BENCH_SECONDS (5 per round), BENCH_ROUNDS (3), BENCH_WARMUP_SECONDS (2),
 * BENCH_CONNECTIONS (50). Exits 1 only when it could not measure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestIssuer } from '../test/support/issuer.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { runLoad, type LoadResult } from './support/autocannon.ts';
import { cpuWindow, describeShare, type CpuShare } from './support/cpu.ts';
import { problemLines, runMain } from './support/run-main.ts';
import { killAllChildren, spawnTs, type Child } from './support/procs.ts';

const seconds = envNumber('BENCH_SECONDS', 5);
const rounds = Math.max(1, envNumber('BENCH_ROUNDS', 3));
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2);
const connections = envNumber('BENCH_CONNECTIONS', 50);
const TARGET_COST = 0.25;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const watchdog = startWatchdog((2 * rounds * seconds + 2 * warmup + 90) * 1000, killAllChildren, log);

interface Ready {
  url: string;
  agentKey: string;
  connection: string;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-auth-'));
  const upstreamToken = `tok_${randomBytes(16).toString('hex')}`;
  const idp = await startTestIssuer('/bench');
  const children: Child<unknown>[] = [];
  const problems: string[] = [];
  try {
    const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
    const upstream = await spawnTs<{ url: string }>('upstream', here('./support/upstream.ts'), { UPSTREAM_TOKEN: upstreamToken });
    children.push(upstream);
    const gateway = await spawnTs<Ready>('gateway', here('./support/gateway-process.ts'), {
      BENCH_DIR: dir,
      UPSTREAM_URL: upstream.ready.url,
      UPSTREAM_TOKEN: upstreamToken,
      BENCH_ISSUER: idp.issuer,
      BENCH_JWKS_URI: idp.jwksUri,
    });
    children.push(gateway);
    const gw = gateway.ready;
    // An agent's token lives for minutes and is sent with every call, as CI and workload tokens are.
    const jwt = await idp.sign({ aud: 'countersign-bench', sub: 'bench-jwt-bot' }, { expiresIn: 3600 });
    const body = JSON.stringify({ connection: gw.connection, input: { method: 'GET', path: '/x' }, reason: 'bench' });
    const headers = { key: { authorization: `Bearer ${gw.agentKey}`, 'content-type': 'application/json' }, jwt: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' } };
    for (const [name, h] of Object.entries(headers)) {
      const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers: h, body });
      const json = (await res.json()) as { status?: string; principal?: unknown };
      if (res.status !== 200 || json.status !== 'succeeded') throw new Error(`sanity (${name}): HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    }
    const loadBefore = loadavg()[0] ?? 0;
    const accounted = { gateway: gateway.pid, upstream: upstream.pid, bench: 'self' as const };
    const run = (h: Record<string, string>, duration: number) => runLoad({ url: `${gw.url}/v1/actions`, connections, duration, method: 'POST', headers: h, body });
    if (warmup > 0) {
      log(`bench: warm-up ${warmup} s each`);
      await run(headers.key, warmup);
      await run(headers.jwt, warmup);
    }
    const results: Record<'key' | 'jwt', { r: LoadResult; cpu: CpuShare }[]> = { key: [], jwt: [] };
    for (let i = 0; i < rounds; i++) {
      for (const name of ['key', 'jwt'] as const) {
        const window = cpuWindow(accounted);
        const r = await run(headers[name], seconds);
        const cpu = window.end();
        if (r.failures > 0 || r.raw.timeouts > 0) problems.push(`${name} round ${i + 1}: ${r.raw.non2xx} non-2xx, ${r.raw.errors} errors, ${r.raw.timeouts} timeouts`);
        if (children.some((c) => c.exited())) throw new Error('a child process exited during the run');
        log(`bench: round ${i + 1} ${name}: ${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.p50, 2)} ms`);
        results[name].push({ r, cpu });
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rps = (name: 'key' | 'jwt') => mean(results[name].map((x) => x.r.requestsPerSecond));
    const p50 = (name: 'key' | 'jwt') => mean(results[name].map((x) => x.r.p50));
    const cpuPer = (name: 'key' | 'jwt') => mean(results[name].map((x) => ((x.cpu.cpuSeconds['gateway'] ?? 0) / Math.max(1, x.r.responses)) * 1e6));
    const ratio = rps('jwt') / rps('key');
    const cost = 1 - ratio;
    const cpu = cpus();
    const out = [
      '',
      'Countersign authentication benchmark',
      `  command   npm run bench:auth`,
      `  date      ${new Date().toISOString()}`,
      `  machine   ${cpu.length} cpus (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 2 ** 20)} MB RAM, Linux ${release()}`,
      `  node      ${process.version}`,
      `  load      autocannon, ${connections} connections, ${rounds} rounds of ${seconds} s per credential, alternating; issuer, upstream and gateway in their own processes`,
      `  loadavg   ${fmt(loadBefore, 2)} before, ${fmt(loadavg()[0] ?? 0, 2)} after`,
      '',
      `  ${''.padEnd(36)}${'API key'.padStart(12)}${'JWT (RS256)'.padStart(14)}`,
      `  ${'allowed actions/s (mean of rounds)'.padEnd(36)}${fmt(rps('key')).padStart(12)}${fmt(rps('jwt')).padStart(14)}`,
      `  ${'per round'.padEnd(36)}${results.key.map((x) => fmt(x.r.requestsPerSecond)).join(' ').padStart(12)}${results.jwt.map((x) => fmt(x.r.requestsPerSecond)).join(' ').padStart(14)}`,
      `  ${'latency p50 (ms)'.padEnd(36)}${fmt(p50('key'), 2).padStart(12)}${fmt(p50('jwt'), 2).padStart(14)}`,
      `  ${'gateway CPU per action (µs)'.padEnd(36)}${fmt(cpuPer('key')).padStart(12)}${fmt(cpuPer('jwt')).padStart(14)}`,
      `  CPU, last JWT round: ${describeShare(results.jwt.at(-1)!.cpu)}`,
      `  JWKS fetches by the gateway: ${idp.fetches.jwks}, discovery: ${idp.fetches.discovery}`,
      '',
      '  target                                          measured      result',
      `  ${`JWT costs <= ${TARGET_COST * 100} % of throughput`.padEnd(46)}${`${fmt(cost * 100, 1)} %`.padStart(10)}      ${cost <= TARGET_COST ? 'PASS' : 'MISS'}`,
    ];
    if (idp.fetches.jwks > 1) problems.push(`the gateway fetched the JWKS ${idp.fetches.jwks} times; keys are meant to be cached`);
    out.push(...problemLines(problems));
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
    killAllChildren();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main, watchdog);
