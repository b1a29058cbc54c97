// A/B: the http executor's execute() of a GET, base vs branch, 50 in flight, alternating rounds; CPU of this process only
// (the upstream is a child process).
import { fork } from 'node:child_process';
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const N = Number(process.env.N ?? 20000), ROUNDS = Number(process.env.ROUNDS ?? 8), INFLIGHT = 50;
const child = fork(new URL('./executor-upstream.mjs', import.meta.url));
const port = await new Promise((r) => child.once('message', r));
const conns = {};
for (const [k, dir] of Object.entries(builds)) {
  const { createHttpConnection } = await import(`${dir}/adapters/executor/http/connection.js`);
  conns[k] = createHttpConnection({ name: 'bench-api', url: `http://127.0.0.1:${port}`, headers: { Authorization: 'Bearer upstream-secret-token-123456' }, tags: {}, timeoutMs: 30000 });
  const r = await conns[k].execute({ method: 'GET', path: '/x' });
  if (!r.ok || r.output.body.items.length !== 3) throw new Error(JSON.stringify(r));
}
async function run(conn, n) {
  let left = n;
  const worker = async () => { while (left-- > 0) { const r = await conn.execute({ method: 'GET', path: '/x' }); if (!r.ok) throw new Error('failed'); } };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}
const res = { base: [], branch: [] };
for (const k of ['base', 'branch']) await run(conns[k], 3000);
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
  const u = process.cpuUsage();
  await run(conns[k], N);
  const d = process.cpuUsage(u);
  res[k].push((d.user + d.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of ['base', 'branch']) console.log(k, 'µs/call median', med(res[k]).toFixed(1), 'rounds', res[k].map((x) => x.toFixed(1)).join(' '));
for (const c of Object.values(conns)) await c.close();
child.kill();
