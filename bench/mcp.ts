/**
 * `npm run bench:mcp`: the MCP gateway's cost on a tools/call, against the
 * same upstream called directly, in the same run. The SDK's own Client drives
 * both, over streamable HTTP, so the difference is what the gateway adds:
 * authentication, facts, policy, the request and its audit events, and its
 * own call to the upstream.
 *
 *   1. direct   Client → upstream   tools/call greet
 *   2. gateway  Client → /mcp       tools/call up__greet (allowed by policy)
 *
 * Each phase runs BENCH_WARMUP_SECONDS (2) then BENCH_SECONDS (10) with one
 * call in flight (latency: every round trip timed), then the same with
 * BENCH_CONCURRENCY (16) calls in flight (throughput). Upstream and gateway
 * run in their own processes; BENCH_GATEWAY_NODE_ARGS adds node flags to the
 * gateway's (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). Exits 1 if a call
 * fails or a result is wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isolatingFetch } from '../src/adapters/executor/mcp/isolating-fetch.ts';
import { killAllChildren, spawnTs } from './support/procs.ts';

const TARGET_ADDED_P50_MS = 1;
const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const seconds = num('BENCH_SECONDS', 10);
const warmup = num('BENCH_WARMUP_SECONDS', 2);
const concurrency = num('BENCH_CONCURRENCY', 16);
const log = (line: string) => process.stderr.write(`${line}\n`);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  // The gateway's own fetch for upstreams, so both sides' clients pay the same and neither leaks listeners.
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: isolatingFetch, ...(key ? { requestInit: { headers: { authorization: `Bearer ${key}` } } } : {}) }));
  return client;
}

interface Phase {
  calls: number;
  perSecond: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** Runs `inFlight` loops of calls for `secs` seconds, timing each round trip. */
async function run(call: () => Promise<void>, secs: number, inFlight: number): Promise<Phase> {
  const times: number[] = [];
  const end = performance.now() + secs * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call();
        times.push(performance.now() - t);
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { calls: times.length, perSecond: times.length / secs, p50: percentile(times, 50), p99: percentile(times, 99) };
}

function caller(client: Client, tool: string): () => Promise<void> {
  let n = 0;
  return async () => {
    const name = `n${n++}`;
    const r = (await client.callTool({ name: tool, arguments: { name } })) as { content: { text?: string }[]; isError?: boolean };
    if (r.isError || r.content[0]?.text !== `hello, ${name}`) throw new Error(`unexpected result from ${tool}: ${JSON.stringify(r).slice(0, 300)}`);
  };
}

const dir = mkdtempSync(join(tmpdir(), 'cs-bench-mcp-'));
try {
  const upstream = await spawnTs<{ url: string }>('upstream', here('./support/mcp-upstream-process.ts'), {});
  const gateway = await spawnTs<{ url: string; agentKey: string }>(
    'gateway',
    here('./support/mcp-gateway-process.ts'),
    { BENCH_DIR: dir, UPSTREAM_URL: upstream.ready.url },
    { nodeArgs: (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean) },
  );
  const direct = await connect(upstream.ready.url);
  const through = await connect(`${gateway.ready.url}/mcp`, gateway.ready.agentKey);
  const tools = (await through.listTools()).tools.map((t) => t.name);
  if (!tools.includes('up__greet')) throw new Error(`the gateway does not offer up__greet (it offers ${tools.join(', ')})`);

  const phases: Record<string, Phase> = {};
  for (const [label, call] of [
    ['direct', caller(direct, 'greet')],
    ['gateway', caller(through, 'up__greet')],
  ] as const) {
    log(`bench: ${label}, one call in flight…`);
    await run(call, warmup, 1);
    phases[`${label} (1 in flight)`] = await run(call, seconds, 1);
    log(`bench: ${label}, ${concurrency} calls in flight…`);
    await run(call, warmup, concurrency);
    phases[`${label} (${concurrency} in flight)`] = await run(call, seconds, concurrency);
  }
  await direct.close();
  await through.close();
  await gateway.stop();
  await upstream.stop();

  const d1 = phases['direct (1 in flight)']!;
  const g1 = phases['gateway (1 in flight)']!;
  const added = g1.p50 - d1.p50;
  const rows = Object.entries(phases).map(([k, p]) => `| ${k} | ${p.calls} | ${p.perSecond.toFixed(0)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} |`);
  process.stdout.write(
    [
      `MCP tools/call, ${seconds} s per phase (${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}, load ${loadavg()[0]?.toFixed(2)})`,
      '',
      '| phase | calls | calls/s | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      `added p50, one call in flight: ${added.toFixed(2)} ms (target ≤ ${TARGET_ADDED_P50_MS} ms: ${added <= TARGET_ADDED_P50_MS ? 'pass' : 'miss'}); added p99: ${(g1.p99 - d1.p99).toFixed(2)} ms`,
      '',
    ].join('\n'),
  );
} catch (e) {
  log(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}
