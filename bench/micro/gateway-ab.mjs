// A/B of whole actions through two compiled gateways (base and branch) in child processes, one SQLite file each
// (STORE=postgres: one throwaway PostgreSQL database each, on DATABASE_URL's server, pool of 10), alternating rounds: the gateway's own CPU per action (process.cpuUsage of its process) and, at 1 connection, the
// p50 of the answer's wall time. MODE allowed|held, CONC in flight, N actions per round, ROUNDS.
// PROFILE_DIR=<dir> writes a .cpuprofile of each gateway under <dir>/base and <dir>/branch.
// BASE_NODE_ARGS / BRANCH_NODE_ARGS: node flags for one build's gateway only. BASE_HEAP / BRANCH_HEAP: its `server.heap`
// (JSON, e.g. '{"maxSemiSpaceMb":16}'); each gateway sizes its heap as `countersign start` does (gateway-child.mjs).
// That steering can let the young generation grow past the setting under load (the child reports the size it ended
// at); to compare code rather than heap sizes, pin it in both: BASE_NODE_ARGS and BRANCH_NODE_ARGS
// '--max-semi-space-size=8 --heap-growing-percent=30' (server.heap's default, as a cluster worker gets it).
// BASE_DIST=<base>/dist node bench/micro/gateway-ab.mjs
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { benchGatewayYaml } from './ab-config.mjs';
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const MODE = process.env.MODE ?? 'allowed', CONC = Number(process.env.CONC ?? 1), N = Number(process.env.N ?? 2000), ROUNDS = Number(process.env.ROUNDS ?? 6);
const { generateApiKey } = await import(`${builds.branch}/adapters/identity/api-keys.js`);
const up = fork(new URL('./executor-upstream.mjs', import.meta.url));
const port = await new Promise((r) => up.once('message', r));
const agent = generateApiKey(), human = generateApiKey();
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databases = [];
async function storeOf(k) {
  if (process.env.STORE !== 'postgres') return '{ sqlite: { path: "@DIR@/countersign.db", synchronous: normal } }';
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  const name = `cs_gateway_ab_${k}_${process.pid}`;
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push({ admin, name });
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return `{ postgres: { url: ${JSON.stringify(url.toString())}, poolSize: 10 } }`;
}
const yamlOf = (store) => benchGatewayYaml({ store, dir: '@DIR@', port, agentHash: agent.hash, humanHash: human.hash });
const gw = {};
for (const [k, dist] of Object.entries(builds)) {
  const yaml = yamlOf(await storeOf(k));
  const child = fork(new URL('./gateway-child.mjs', import.meta.url), { execArgv: [...(process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}/${k}`] : []), ...(process.env[`${k.toUpperCase()}_NODE_ARGS`] ?? '').split(/\s+/).filter(Boolean)], env: { ...process.env, GATEWAY_DIST: dist, GATEWAY_YAML: yaml, GATEWAY_HEAP: process.env[`${k.toUpperCase()}_HEAP`] ?? '' } });
  const { url } = await new Promise((r) => child.once('message', r));
  gw[k] = { child, url: new URL(url) };
}
const peakRss = {};
const gcOf = {};
const young = {};
const cpu = (child, k) => new Promise((r) => { child.once('message', (m) => { if (k) { peakRss[k] = m.maxRssKb; young[k] = m.youngBytes; } gcOf[k ?? 'last'] = m.gc; r(m.cpu.user + m.cpu.system); }); child.send('cpu'); });
const body = JSON.stringify({ connection: 'bench-api', input: MODE === 'held' ? { method: 'POST', path: '/x', body: { n: 1 } } : { method: 'GET', path: '/x' }, reason: 'bench' });
const httpAgent = new Agent({ keepAlive: true, maxSockets: CONC });
function one(url) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = request({ host: url.hostname, port: url.port, path: '/v1/actions', method: 'POST', agent: httpAgent, headers: { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ok = MODE === 'held' ? res.statusCode === 202 : res.statusCode === 200;
        if (!ok) reject(new Error(`${res.statusCode} ${Buffer.concat(chunks)}`));
        else resolve(Number(process.hrtime.bigint() - t) / 1e3);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function run(k, n) {
  let left = n;
  const times = [];
  const worker = async () => { while (left-- > 0) times.push(await one(gw[k].url)); };
  await Promise.all(Array.from({ length: CONC }, worker));
  return times.sort((a, b) => a - b)[times.length >> 1];
}
const res = { base: { cpu: [], p50: [], gcs: [], gcMs: [] }, branch: { cpu: [], p50: [], gcs: [], gcMs: [] } };
for (const k of ['base', 'branch']) await run(k, Math.min(N, 1000));
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
  const c0 = await cpu(gw[k].child);
  const g0 = gcOf.last;
  const p50 = await run(k, N);
  const c1 = await cpu(gw[k].child, k);
  res[k].cpu.push((c1 - c0) / N);
  res[k].gcs.push(((gcOf[k].count - g0.count) * 1000) / N);
  res[k].gcMs.push(((gcOf[k].ms - g0.ms) * 1000) / N);
  res[k].p50.push(p50);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${process.env.STORE ?? 'sqlite'} ${MODE}, ${CONC} in flight, ${ROUNDS} rounds × ${N}`);
for (const k of ['base', 'branch']) console.log(k.padEnd(6), 'gateway µs/action median', med(res[k].cpu).toFixed(0), '[', res[k].cpu.map((x) => x.toFixed(0)).join(' '), '] p50 µs median', med(res[k].p50).toFixed(0), '[', res[k].p50.map((x) => x.toFixed(0)).join(' '), '] peak RSS', (peakRss[k] / 1024).toFixed(1), 'MB; young generation', ((young[k] ?? 0) / 1048576).toFixed(1), 'MB; GCs per 1,000 actions', med(res[k].gcs).toFixed(1), ', GC pause µs/action', med(res[k].gcMs).toFixed(1));
const ratios = res.branch.cpu.map((x, i) => x / res.base.cpu[i]);
console.log('branch/base CPU per round: median', med(ratios).toFixed(3), '[', ratios.map((x) => x.toFixed(2)).join(' '), ']', CONC === 1 ? `p50 median ${med(res.branch.p50.map((x, i) => x / res.base.p50[i])).toFixed(3)}` : '');
await Promise.all(Object.values(gw).map((g) => new Promise((r) => { g.child.once('exit', r); g.child.send('close'); })));
up.kill();
httpAgent.destroy();
for (const { admin, name } of databases) {
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await admin.end();
}
