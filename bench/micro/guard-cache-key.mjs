// A/B of the session check cache's key (guard-cache.ts cacheKey), base build vs branch build, one process,
// alternating rounds, process.cpuUsage: the parameters of a pgbench select-only statement's check as the wire session
// builds them (the allow-list left out, as it is from the key).
// BASE_DIST=<base>/dist [N=200000] [ROUNDS=8] node bench/micro/guard-cache-key.mjs
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const N = Number(process.env.N ?? 200000), ROUNDS = Number(process.env.ROUNDS ?? 8);
const values = ['{}', '{"pg_catalog.=(integer,integer)","pg_catalog.=(bigint,bigint)"}', '{}', '{pgbench_accounts.abalance,pgbench_accounts.aid}', '', '{public.pgbench_accounts}'];
const keys = {};
for (const [k, dir] of Object.entries(builds)) keys[k] = (await import(`${dir}/adapters/executor/sql/guard-cache.js`)).cacheKey;
if (keys.base(true, values) !== keys.branch(true, values)) throw new Error('the builds give different keys');
const res = { base: [], branch: [] };
let sink = 0;
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
  const f = keys[k];
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) sink += f(i % 2 === 0, values).length;
  const c = process.cpuUsage(c0);
  res[k].push((c.user + c.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`cacheKey, ${ROUNDS} rounds × ${N} (${sink > 0 ? 'ok' : ''})`);
for (const k of ['base', 'branch']) console.log(k.padEnd(6), 'µs per key median', med(res[k]).toFixed(2), '[', res[k].map((x) => x.toFixed(2)).join(' '), ']');
