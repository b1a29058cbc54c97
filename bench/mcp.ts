/**
 * `npm run bench:mcp`: the MCP gateway's cost on a tools/call, against the
 * same upstream called directly, in the same run. The SDK's own Client drives
 * every phase, so the difference is what the gateway adds: authentication,
 * facts, policy, the request and its audit events, and its own call to the
 * upstream. Two deployments, each beside its own baseline:
 *
 *   stdio  what an MCP client that launches a command gets:
 *     direct   Client ─stdio→ upstream                               tools/call greet
 *     gateway  Client ─stdio→ countersign mcp --config ─stdio→ upstream  up__greet
 *              (joining a gateway started on the same config, idle meanwhile)
 *     relay    Client ─stdio→ a bare SDK relay ─stdio→ upstream           up__greet
 *              (no policy, no store: what the extra process and hops cost)
 *     idle     Client ─stdio→ upstream, idle 1 ms before each call (timed: the call)
 *   in process  submit of an allowed call in this process (no hop in front), alternating
 *               with the same call straight through the connection to the upstream
 *   store  the gateway's two writes of an allowed call, in this process, timed alone
 *   http   a remote agent:
 *     direct   Client ─HTTP→ upstream                                tools/call greet
 *     gateway  Client ─HTTP→ gateway /mcp ─HTTP→ upstream             up__greet
 *
 * Each phase runs BENCH_WARMUP_SECONDS (2) then BENCH_SECONDS (10) with one
 * call in flight (latency: every round trip timed), then the same with
 * BENCH_CONCURRENCY (16) calls in flight (throughput). BENCH_MCP_TRANSPORTS
 * picks the deployments ("stdio,http"). The gateways run in their own
 * processes; BENCH_GATEWAY_NODE_ARGS adds node flags to them (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"). Exits 1 if a call fails or a
 * result is wrong.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isolatingFetch } from '../src/adapters/executor/mcp/isolating-fetch.ts';
import { generateApiKey } from '../src/adapters/identity/api-keys.ts';
import { envNumber, stopOnSignals } from './support/env.ts';
import { timeInProcess } from './support/mcp-inprocess-phase.ts';
import { timeStoreWrites } from './support/mcp-store-phase.ts';
import { killAllChildren, spawnTs } from './support/procs.ts';

const TARGET_ADDED_P50_MS = 1;
/** How long the upstream is left idle before each call of the idle phase. */
const IDLE_MS = 1;
const seconds = envNumber('BENCH_SECONDS', 10);
const warmup = envNumber('BENCH_WARMUP_SECONDS', 2);
const concurrency = envNumber('BENCH_CONCURRENCY', 16, { integer: true, min: 1 });
const transports = (process.env['BENCH_MCP_TRANSPORTS'] || 'stdio,http').split(',').map((t) => t.trim());
for (const t of transports) if (t !== 'stdio' && t !== 'http') throw new Error(`BENCH_MCP_TRANSPORTS: unknown transport ${t} (stdio, http)`);
const gatewayNodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const log = (line: string) => process.stderr.write(`${line}\n`);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const RUN_TS = here('../bin/run-ts.js');
const CLI = here('../bin/countersign.js');
/** The stdio upstream, as both the bench and the gateway's connection start it. */
const STDIO_UPSTREAM = [RUN_TS, here('./support/mcp-upstream-stdio.ts')];

async function httpClient(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  // The gateway's own fetch for upstreams, so both sides' clients pay the same and neither leaks listeners.
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: isolatingFetch, ...(key ? { requestInit: { headers: { authorization: `Bearer ${key}` } } } : {}) }));
  return client;
}

async function stdioClient(args: string[], env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args, env: { PATH: process.env['PATH'] ?? '', ...env }, stderr: 'inherit' }));
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

/** A gateway config: SQLite in `dir`, one agent, the `up` connection, read-only tools allowed. */
function gatewayYaml(dir: string, agentHash: string, connection: string): string {
  return `server: { port: 0, host: 127.0.0.1 }
store: { sqlite: { path: ${JSON.stringify(join(dir, 'countersign.db'))} } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: ${process.env['BENCH_GATEWAY_LOG'] ?? 'warn'} }
principals:
  - id: bench-bot
    kind: agent
    apiKeys: ["${agentHash}"]
connections:
  - name: up
    kind: mcp
${connection}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.mcp.annotations.readOnlyHint
      effect: allow
`;
}

/** Times direct, then through the gateway; closes both clients. */
async function pair(label: string, direct: Client, through: Client, phases: Record<string, Phase>): Promise<void> {
  const tools = (await through.listTools()).tools.map((t) => t.name);
  if (!tools.includes('up__greet')) throw new Error(`${label}: the gateway does not offer up__greet (it offers ${tools.join(', ')})`);
  for (const [side, call] of [
    ['direct', caller(direct, 'greet')],
    ['gateway', caller(through, 'up__greet')],
  ] as const) {
    log(`bench: ${label} ${side}, one call in flight…`);
    await run(call, warmup, 1);
    phases[`${label} ${side} (1 in flight)`] = await run(call, seconds, 1);
    log(`bench: ${label} ${side}, ${concurrency} calls in flight…`);
    await run(call, warmup, concurrency);
    phases[`${label} ${side} (${concurrency} in flight)`] = await run(call, seconds, concurrency);
  }
  await direct.close();
  await through.close();
}

async function stdioPair(dir: string, phases: Record<string, Phase>): Promise<void> {
  const agent = generateApiKey();
  const configFile = join(dir, 'countersign.yaml');
  const yaml = gatewayYaml(dir, agent.hash, `    command: ${JSON.stringify(process.execPath)}\n    args: ${JSON.stringify(STDIO_UPSTREAM)}`);
  writeFileSync(configFile, yaml);
  // --config joins the gateway serving its config (its store, its policy), as it does in use: that gateway runs, idle.
  const gateway = await spawnTs<{ url: string }>('gateway', here('./support/mcp-gateway-process.ts'), { BENCH_CONFIG: yaml });
  const direct = await stdioClient(STDIO_UPSTREAM);
  const through = await stdioClient([...gatewayNodeArgs, CLI, 'mcp', '--config', configFile], { COUNTERSIGN_KEY: agent.key });
  await pair('stdio', direct, through, phases);
  await gateway.stop();
  // What one more process and its two hops cost here, with no gateway work at all: the floor for any MCP gateway.
  log('bench: stdio bare relay (no policy, no store), one call in flight…');
  const relay = await stdioClient([RUN_TS, here('./support/mcp-bare-relay.ts'), process.execPath, ...STDIO_UPSTREAM]);
  const viaRelay = caller(relay, 'up__greet');
  await run(viaRelay, warmup, 1);
  phases['stdio bare relay (1 in flight)'] = await run(viaRelay, seconds, 1);
  await relay.close();
  // The same direct call, but to an upstream left idle for a moment first, as it is while the gateway records a call
  // before forwarding it: on this kind of machine a process woken from idle answers later than one kept busy.
  log(`bench: stdio direct after ${IDLE_MS} ms idle, one call in flight…`);
  const idle = await stdioClient(STDIO_UPSTREAM);
  const afterIdle = caller(idle, 'greet');
  const paused = async () => {
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const t = performance.now();
    await afterIdle();
    return performance.now() - t;
  };
  const times: number[] = [];
  for (const end = performance.now() + seconds * 1000; performance.now() < end; ) times.push(await paused());
  times.sort((a, b) => a - b);
  phases[`stdio direct after ${IDLE_MS} ms idle (1 in flight)`] = { calls: times.length, perSecond: Number.NaN, p50: percentile(times, 50), p99: percentile(times, 99) };
  await idle.close();
}

async function httpPair(dir: string, phases: Record<string, Phase>): Promise<void> {
  const upstream = await spawnTs<{ url: string }>('upstream', here('./support/mcp-upstream-process.ts'), {});
  const agent = generateApiKey();
  const gateway = await spawnTs<{ url: string }>(
    'gateway',
    here('./support/mcp-gateway-process.ts'),
    { BENCH_CONFIG: gatewayYaml(dir, agent.hash, `    url: ${upstream.ready.url}`) },
    { nodeArgs: gatewayNodeArgs },
  );
  await pair('http', await httpClient(upstream.ready.url), await httpClient(`${gateway.ready.url}/mcp`, agent.key), phases);
  await gateway.stop();
  await upstream.stop();
}

const root = mkdtempSync(join(tmpdir(), 'cs-bench-mcp-'));
stopOnSignals(() => {
  killAllChildren();
  rmSync(root, { recursive: true, force: true });
});
try {
  const phases: Record<string, Phase> = {};
  for (const t of transports) {
    const dir = join(root, t);
    mkdirSync(dir);
    await (t === 'stdio' ? stdioPair(dir, phases) : httpPair(dir, phases));
  }
  log('bench: in process, no hop in front: submit of an allowed call, and the upstream call alone…');
  const inProcessDir = join(root, 'in-process');
  mkdirSync(inProcessDir);
  const inProcess = await timeInProcess(
    gatewayYaml(inProcessDir, generateApiKey().hash, `    command: ${JSON.stringify(process.execPath)}\n    args: ${JSON.stringify(STDIO_UPSTREAM)}`),
    seconds,
    warmup,
  );
  for (const [label, times] of [
    ['in process: submit of an allowed call (stdio upstream)', inProcess.submit],
    ['in process: the same upstream call alone', inProcess.upstream],
  ] as const) {
    phases[label] = { calls: times.length, perSecond: Number.NaN, p50: percentile(times, 50), p99: percentile(times, 99) };
  }
  log('bench: the store alone: the two writes of an allowed call, one at a time…');
  const writes = await timeStoreWrites(root, seconds);
  for (const [label, times] of [
    ['store: record the call, before forwarding it', writes.record],
    ['store: record its outcome', writes.outcome],
  ] as const) {
    phases[label] = { calls: times.length, perSecond: Number.NaN, p50: percentile(times, 50), p99: percentile(times, 99) };
  }
  const rows = Object.entries(phases).map(([k, p]) => `| ${k} | ${p.calls} | ${Number.isNaN(p.perSecond) ? '–' : p.perSecond.toFixed(0)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} |`);
  const verdicts = transports.map((t) => {
    const d = phases[`${t} direct (1 in flight)`]!;
    const g = phases[`${t} gateway (1 in flight)`]!;
    const added = g.p50 - d.p50;
    const relay = phases[`${t} bare relay (1 in flight)`];
    const idle = phases[`${t} direct after ${IDLE_MS} ms idle (1 in flight)`];
    const floor = relay && idle ? `; a bare relay adds ${(relay.p50 - d.p50).toFixed(2)} ms, an idle upstream ${(idle.p50 - d.p50).toFixed(2)} ms` : '';
    return `${t}: added p50, one call in flight: ${added.toFixed(2)} ms (target ≤ ${TARGET_ADDED_P50_MS} ms: ${added <= TARGET_ADDED_P50_MS ? 'pass' : 'miss'}); added p99: ${(g.p99 - d.p99).toFixed(2)} ms${floor}`;
  });
  process.stdout.write(
    [
      `MCP tools/call, ${seconds} s per phase (${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}, load ${loadavg()[0]?.toFixed(2)})`,
      '',
      '| phase | calls | calls/s | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      ...verdicts,
      '',
    ].join('\n'),
  );
} catch (e) {
  log(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  killAllChildren();
  rmSync(root, { recursive: true, force: true });
}
// The SDK's stdio clients' children keep the loop alive when a phase failed before closing them.
process.exit(process.exitCode ?? 0);
