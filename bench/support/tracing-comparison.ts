/**
 * The cost of tracing on the hot path (issue 18), in bench:gateway's run: two
 * compiled gateways side by side on the same upstream, each on a SQLite store
 * of its own with one process, one with tracing off and one with it on at
 * `sampleRatio: 0` (what production pays for a request it does not sample:
 * the SDK, the context manager and a span per step, none recorded or
 * exported). Allowed actions in alternating short runs (off on, on off, …),
 * so that drift in the machine's other load falls on both; reported as 2xx/s
 * and gateway CPU per action, each summed over the rounds.
 *
 * Environment: BENCH_TRACING (1; 0 skips it), BENCH_TRACING_ROUNDS (3),
 * BENCH_TRACING_SECONDS (5, each run).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './autocannon.ts';
import { startCompiledGateway, type CompiledGateway } from './compiled-gateway.ts';
import { cpuWindow } from './cpu.ts';
import { envNumber } from './env.ts';
import { BENCH_CONNECTION, benchConfigYaml, benchKeys, sqliteStore } from './gateway-config.ts';

const enabled = process.env['BENCH_TRACING'] !== '0';
const rounds = envNumber('BENCH_TRACING_ROUNDS', 3, { integer: true, min: 1 });
const seconds = envNumber('BENCH_TRACING_SECONDS', 5);

/** What the comparison adds to the run's time bound, in ms. */
export function tracingComparisonBudgetMs(warmup: number): number {
  return enabled ? (2 * rounds * (seconds + 2) + 2 * (warmup + 2) + 120) * 1000 : 0;
}

interface Side {
  readonly name: 'off' | 'on (sampleRatio 0)';
  readonly gw: CompiledGateway;
  readonly headers: Record<string, string>;
  ok: number;
  seconds: number;
  cpuSeconds: number;
  failures: number;
}

/**
 * @example
 * process.stdout.write(await compareTracing({ upstreamUrl, token, connections: 50, warmup: 2, log }));
 */
export async function compareTracing(o: { upstreamUrl: string; token: string; connections: number; warmup: number; log: (line: string) => void }): Promise<{ text: string; problems: string[] }> {
  if (!enabled) return { text: '', problems: [] };
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-tracing-'));
  const sides: Side[] = [];
  const problems: string[] = [];
  const body = JSON.stringify({ connection: BENCH_CONNECTION, input: { method: 'GET', path: '/x' }, reason: 'bench' });
  try {
    for (const [name, tracing] of [
      ['off', 'tracing: { enabled: false }\n'],
      // Nothing listens there: at ratio 0 nothing is exported, and an export attempt would show as errors in the log.
      ['on (sampleRatio 0)', 'tracing: { enabled: true, sampleRatio: 0, otlp: { url: "http://127.0.0.1:9/v1/traces" } }\n'],
    ] as const) {
      const { agent, human } = benchKeys();
      const sub = join(dir, name.split(' ')[0]!);
      const configFile = `${sub}.yaml`;
      writeFileSync(configFile, benchConfigYaml({ prefix: tracing, store: sqliteStore(`${sub}.db`), keyDir: `${sub}-keys`, upstreamUrl: o.upstreamUrl, agentKeyHash: agent.hash, humanKeyHash: human.hash }));
      const gw = await startCompiledGateway({ name: `tracing-${name.split(' ')[0]}`, configFile, workers: 1, env: { UPSTREAM_TOKEN: o.token }, log: o.log });
      const headers = { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' };
      sides.push({ name, gw, headers, ok: 0, seconds: 0, cpuSeconds: 0, failures: 0 });
      const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers, body });
      const r = (await res.json()) as { status?: string };
      if (res.status !== 200 || r.status !== 'succeeded') throw new Error(`tracing ${name}: an allowed GET did not succeed: HTTP ${res.status} ${JSON.stringify(r).slice(0, 200)}`);
    }
    const load = (s: Side, duration: number) => runLoad({ url: `${s.gw.url}/v1/actions`, connections: o.connections, duration, method: 'POST', headers: s.headers, body });
    for (const s of sides) if (o.warmup > 0) await load(s, o.warmup);
    for (let i = 0; i < rounds; i++) {
      for (const s of i % 2 ? [...sides].reverse() : sides) {
        o.log(`bench: tracing ${s.name}: round ${i + 1}/${rounds}, ${o.connections} connections, ${seconds} s`);
        const window = cpuWindow({ gateway: s.gw.pid });
        const r = await load(s, seconds);
        const cpu = window.end();
        if (s.gw.exited()) throw new Error(`tracing ${s.name}: the gateway exited during the run`);
        s.ok += r.raw['2xx'];
        s.seconds += r.raw.duration;
        s.cpuSeconds += cpu.cpuSeconds['gateway'] ?? 0;
        s.failures += r.failures + r.raw.timeouts;
      }
    }
  } finally {
    await Promise.all(sides.map((s) => s.gw.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
  for (const s of sides) if (s.failures > 0) problems.push(`tracing ${s.name}: ${s.failures} failed requests`);
  const [off, on] = sides as [Side, Side];
  const rate = (s: Side) => s.ok / s.seconds;
  const usPerAction = (s: Side) => (s.cpuSeconds / Math.max(1, s.ok)) * 1e6;
  const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
  const rows = sides.map((s) => `| tracing ${s.name} | ${Math.round(rate(s)).toLocaleString('en-US')} | ${Math.round(usPerAction(s)).toLocaleString('en-US')} |`);
  const text = [
    '',
    `## Tracing: allowed actions, off vs on at sampleRatio 0 (SQLite, 1 process, ${rounds} alternating rounds of ${seconds} s, ${o.connections} connections)`,
    '',
    '| gateway | 2xx/s | gateway CPU per action (us) |',
    '|---|---|---|',
    ...rows,
    '',
    `Throughput with tracing on: ${pct(rate(on), rate(off))} against off; CPU per action: ${pct(usPerAction(on), usPerAction(off))}.`,
    '',
  ].join('\n');
  return { text, problems };
}
