// The SQL facts path of a postgres connection, base build against branch build, in alternating rounds:
// 1. a normal statement: CPU per call of prepareFacts (when the build has it) + facts, the text seen before
//    (the analysis cache) and texts never seen (a literal that changes);
// 2. 1,000,000 characters of `SELECT 1;` (FLOOD=distinct: of `SELECT 1 FROM t0_00001;`, a table each): the longest the calling thread was held (gaps of a 1 ms timer)
//    and the time to its facts.
// BASE_DIST=<base>/dist [BRANCH_DIST=dist] [ROUNDS=3] [N=20000] node bench/micro/sql-offload.mjs
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const ROUNDS = Number(process.env.ROUNDS ?? 3), N = Number(process.env.N ?? 20_000);
const handles = {};
for (const [k, dist] of Object.entries(builds)) {
  const sql = await import(`${dist}/adapters/executor/sql/index.js`);
  await sql.loadSqlParser();
  handles[k] = sql.createPostgresConnection({ name: `db-${k}`, url: 'postgres://127.0.0.1:1/none' });
}
const facts = async (h, input) => {
  const p = h.prepareFacts?.(input);
  if (p) await p;
  return h.facts(input);
};
const cpu = (f) => {
  const t = process.cpuUsage();
  f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1000;
};
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = { base: { seen: [], fresh: [], held: [], wall: [] }, branch: { seen: [], fresh: [], held: [], wall: [] } };
const NORMAL = 'SELECT abalance FROM pgbench_accounts WHERE aid = 1';
for (let r = 0; r < ROUNDS; r++) {
  for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
    const h = handles[k];
    out[k].seen.push((cpu(() => { for (let i = 0; i < N; i++) { const p = h.prepareFacts?.({ sql: NORMAL }); if (p) throw new Error('short text offloaded'); h.facts({ sql: NORMAL }); } }) * 1000) / N);
    out[k].fresh.push((cpu(() => { for (let i = 0; i < N / 10; i++) { const s = `SELECT abalance FROM pgbench_accounts WHERE aid = ${r * N + i} AND ${k.length} > 0`; h.prepareFacts?.({ sql: s }); h.facts({ sql: s }); } }) * 1000) / (N / 10));
    // FLOOD=distinct: every statement names a table of its own (nothing of the analysis repeats).
    const flood = process.env.FLOOD === 'distinct'
      ? Array.from({ length: 45_000 }, (_, i) => `SELECT 1 FROM t${r}_${String(i).padStart(5, '0')};`).join('').slice(0, 1_000_000)
      : `SELECT ${r + 1};`.repeat(Math.floor(1_000_000 / `SELECT ${r + 1};`.length));
    let last = performance.now(), held = 0;
    const tick = setInterval(() => { const now = performance.now(); held = Math.max(held, now - last); last = now; }, 1);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    last = performance.now();
    const f = await facts(h, { sql: flood });
    const wall = performance.now() - t0 - 5;
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(tick);
    if (f.sql.statements.length < 40_000) throw new Error('flood not analysed');
    out[k].held.push(held);
    out[k].wall.push(wall);
  }
}
for (const k of Object.keys(out)) {
  const o = out[k];
  console.log(`${k}: normal seen ${med(o.seen).toFixed(2)} µs CPU/call [${o.seen.map((x) => x.toFixed(2)).join(', ')}]; normal fresh ${med(o.fresh).toFixed(1)} µs [${o.fresh.map((x) => x.toFixed(1)).join(', ')}]; 1 MB: thread held at most ${med(o.held).toFixed(0)} ms [${o.held.map((x) => x.toFixed(0)).join(', ')}], facts after ${med(o.wall).toFixed(0)} ms [${o.wall.map((x) => x.toFixed(0)).join(', ')}]`);
}
process.exit(0);
