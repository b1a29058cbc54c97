// Where one connection's allowed action spends its time on a PostgreSQL store. A compiled gateway (DIST, default this
// tree's dist/) in a child on a throwaway database of DATABASE_URL's server, and the local upstream; WARM actions at
// WARM_CONC in flight first (by default a database the size of bench:gateway's after its loaded phases), then ROUNDS × N
// at 1 in flight: the upstream's p50 called directly, the gateway's p10/p50/p90, the gateway's CPU per action (its
// process) and the database's (the throwaway database's backends, from /proc: same machine only).
// TRACE=1 (needs `perf`): `perf trace` of the gateway over SECONDS of the first round splits each action into its steps,
// the gateway's own work (request read → first statement sent; its answer → upstream call; upstream answered → outcome
// statement sent; its answer → answer written) and the waits between (the database, the upstream).
// LOG=<the server's log file, readable>: every statement of the rounds is logged with its duration
// (log_min_duration_statement = 0 on the throwaway database, set after the warm-up, whose connections are then closed
// so that the pool's new ones take it) and each named statement's bind and execute times are printed.
// At the end: the request table's inserts, updates and HOT updates, and its indexes' sizes. KEEP_DB=1 keeps the database.
// node bench/micro/one-connection-steps.mjs
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { benchGatewayYaml } from './ab-config.mjs';
const dist = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const env = (k, d) => Number(process.env[k] ?? d);
const WARM = env('WARM', 20000), WARM_CONC = env('WARM_CONC', 50), N = env('N', 3000), ROUNDS = env('ROUNDS', 2), SECONDS = env('SECONDS', 3);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { generateApiKey } = await import(`${dist}/adapters/identity/api-keys.js`);
const up = fork(new URL('./executor-upstream.mjs', import.meta.url));
const port = await new Promise((r) => up.once('message', r));
const agent = generateApiKey(), human = generateApiKey();
const admin = new pg.Client({ connectionString: SERVER });
await admin.connect();
const name = `cs_steps_${process.pid}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
const yaml = benchGatewayYaml({ store: `{ postgres: { url: ${JSON.stringify(url.toString())}, poolSize: 10 } }`, dir: '@DIR@', port, agentHash: agent.hash, humanHash: human.hash });
const child = fork(new URL('./gateway-child.mjs', import.meta.url), { env: { ...process.env, GATEWAY_DIST: dist, GATEWAY_YAML: yaml, GATEWAY_HEAP: '' } });
const gw = new URL((await new Promise((r) => child.once('message', r))).url);
const body = JSON.stringify({ connection: 'bench-api', input: { method: 'GET', path: '/x' }, reason: 'bench' });
const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });
const headers = { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
const timed = (opts, data) =>
  new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = request({ agent: httpAgent, ...opts }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t) / 1e3) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
const action = () => timed({ host: gw.hostname, port: gw.port, path: '/v1/actions', method: 'POST', headers }, body);
const direct = () => timed({ host: '127.0.0.1', port, path: '/x' });
async function run(n, conc, fn = action) {
  let left = n;
  const times = [];
  await Promise.all(Array.from({ length: conc }, async () => { while (left-- > 0) times.push(await fn()); }));
  return times.sort((a, b) => a - b);
}
const q = (sorted, p) => (sorted.length ? sorted[Math.floor(sorted.length * p)].toFixed(0) : '-');
const cpuOf = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000; // clock ticks of 10 ms, in µs
  } catch {
    return 0;
  }
};
const backends = async () => (await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name])).rows.map((r) => r.pid);

await run(WARM, WARM_CONC);
let logFrom;
if (process.env.LOG) {
  await admin.query(`ALTER DATABASE ${name} SET log_min_duration_statement = 0`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  await new Promise((r) => setTimeout(r, 1000));
  // The pool drops the closed connections as their sockets end; an action that still met one is not counted.
  for (let i = 0; i < 200; i++) await action().catch(() => {});
  logFrom = statSync(process.env.LOG).size;
}
let trace;
for (let r = 0; r < ROUNDS; r++) {
  const d = await run(500, 1, direct);
  const pids = await backends();
  const [g0, b0] = [cpuOf(child.pid), pids.reduce((a, p) => a + cpuOf(p), 0)];
  if (r === 0 && process.env.TRACE === '1') {
    const dir = mkdtempSync(join(tmpdir(), 'cs-steps-'));
    trace = { file: join(dir, 'trace.txt'), dir };
    trace.process = spawn('perf', ['trace', '-p', String(child.pid), '-e', 'writev,write,read', '-o', trace.file], { stdio: 'inherit' });
    setTimeout(() => trace.process.kill('SIGINT'), SECONDS * 1000);
  }
  const t = await run(N, 1);
  const [g1, b1] = [cpuOf(child.pid), pids.reduce((a, p) => a + cpuOf(p), 0)];
  console.log(`round ${r}: direct p50 ${q(d, 0.5)} µs; gateway p10 ${q(t, 0.1)} p50 ${q(t, 0.5)} p90 ${q(t, 0.9)} µs; CPU per action: gateway ${((g1 - g0) / N).toFixed(0)} µs, database ${((b1 - b0) / N).toFixed(0)} µs; loadavg ${loadavg()[0].toFixed(1)}`);
}
if (trace) {
  if (trace.process.exitCode === null) await new Promise((r) => trace.process.once('exit', r));
  steps(readFileSync(trace.file, 'utf8'));
  if (!process.env.KEEP_TRACE) rmSync(trace.dir, { recursive: true, force: true });
}
if (logFrom !== undefined) statements(execFileSync('tail', ['-c', `+${logFrom + 1}`, process.env.LOG], { maxBuffer: 1 << 30 }).toString());
await admin.query(`ALTER DATABASE ${name} RESET log_min_duration_statement`);
// Whether the outcome updates were HOT (no index entry written), and the request table's indexes by size.
{
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  await c.query('SELECT pg_stat_force_next_flush()').catch(() => {});
  const t = (await c.query(`SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'requests'`)).rows[0];
  const ix = (await c.query(`SELECT indexrelname AS i, pg_relation_size(indexrelid) AS b FROM pg_stat_user_indexes WHERE relname = 'requests' ORDER BY 1`)).rows;
  console.log(`requests: ${t?.n_tup_ins} inserted, ${t?.n_tup_upd} updated, ${t?.n_tup_hot_upd} of them HOT; indexes (KB): ${ix.map((r) => `${r.i} ${Math.round(r.b / 1024)}`).join(', ')}`);
  await c.end();
}
if (process.env.KEEP_DB) console.log(`kept database ${name}`);
await new Promise((r) => { child.once('exit', r); child.send('close'); });
up.kill();
httpAgent.destroy();
if (!process.env.KEEP_DB) await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
await admin.end();

/** The steps of each action in `perf trace` lines of the gateway's socket calls. */
function steps(text) {
  const calls = [];
  for (const l of text.split('\n')) {
    const m = l.match(/^\s*([\d.]+) \(\s*([\d.]+) ms\): \S+ (\w+)\(fd: (\d+)([^)]*)\)\s+= (\d+)/);
    if (m) calls.push({ t: +m[1] * 1000, end: (+m[1] + +m[2]) * 1000, call: m[3], fd: +m[4], parts: Number(m[5].match(/vlen: (\d+)/)?.[1] ?? 1), bytes: +m[6] });
  }
  // pg sends a named statement's Bind, Describe, Execute and Sync in one writev; the answer to the agent is two parts.
  const db = new Set(calls.filter((c) => c.call === 'writev' && c.parts >= 4).map((c) => c.fd));
  const upstream = calls.find((c) => c.call === 'write' && !db.has(c.fd))?.fd;
  const names = ['gateway: request read → first statement sent', 'database: first statement (request, audit)', 'gateway: → upstream call', 'upstream', 'gateway: → outcome statement sent', 'database: outcome statement', 'gateway: → answer written', 'total (request read → answer written)'];
  const out = names.map(() => []);
  // Each action: the client's request read, then writev db, read db, write upstream, read upstream, writev db, read db, writev client.
  const want = [(c) => c.call === 'writev' && db.has(c.fd), (c) => c.call === 'read' && db.has(c.fd), (c) => c.call === 'write' && c.fd === upstream, (c) => c.call === 'read' && c.fd === upstream, (c) => c.call === 'writev' && db.has(c.fd), (c) => c.call === 'read' && db.has(c.fd), (c) => c.call === 'writev' && !db.has(c.fd)];
  let at;
  for (const c of calls) {
    if (c.call === 'read' && !db.has(c.fd) && c.fd !== upstream) at = { i: 0, marks: [c.end] };
    else if (at && want[at.i](c)) {
      at.marks.push(c.call === 'read' ? c.end : c.t);
      if (++at.i === want.length) {
        at.marks.forEach((m, i) => i > 0 && out[i - 1].push(m - at.marks[i - 1]));
        out[7].push(at.marks[7] - at.marks[0]);
        at = undefined;
      }
    }
  }
  console.log(`steps of ${out[0].length} actions (perf trace, µs: p25 / p50 / p75):`);
  names.forEach((n, i) => { const s = out[i].sort((a, b) => a - b); console.log(`  ${n.padEnd(48)} ${q(s, 0.25).padStart(6)} ${q(s, 0.5).padStart(6)} ${q(s, 0.75).padStart(6)}`); });
}

/** Bind and execute durations of each named statement in the server's log lines. */
function statements(text) {
  const by = new Map();
  for (const m of text.matchAll(/duration: ([\d.]+) ms {2}(bind|execute) (\w+):/g)) {
    const k = `${m[2]} ${m[3]}`;
    by.set(k, [...(by.get(k) ?? []), Number(m[1])]);
  }
  console.log('server time per statement (ms: count, p10 / p50 / p90):');
  for (const [k, v] of [...by].sort((a, b) => b[1].length - a[1].length).slice(0, 12)) {
    v.sort((a, b) => a - b);
    const p = (x) => v[Math.floor(v.length * x)].toFixed(3);
    console.log(`  ${k.padEnd(48)} ${String(v.length).padStart(6)} ${p(0.1)} ${p(0.5)} ${p(0.9)}`);
  }
}
