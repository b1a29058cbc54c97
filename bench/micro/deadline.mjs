// The deadline of one upstream call as undici uses it (util.addAbortListener, then its remover at the end), 50 calls
// in flight, each ending after a macrotask: AbortSignal.timeout (base) against CallDeadline (branch), alternating rounds.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const util = require('undici/lib/core/util.js');
const { CallDeadline } = await import(`${process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname}/adapters/executor/http/deadline.js`);
const N = 20000, ROUNDS = 10, INFLIGHT = 50;
const onAbort = () => {};
const tick = () => new Promise((r) => setImmediate(r));
const variants = {
  base: async () => { const s = AbortSignal.timeout(30000); const rm = util.addAbortListener(s, onAbort); await tick(); rm(); },
  branch: async () => { const d = new CallDeadline(30000); try { const rm = util.addAbortListener(d, onAbort); await tick(); rm(); } finally { d.clear(); } },
  none: async () => { await tick(); },
};
async function run(f, n) { let left = n; await Promise.all(Array.from({ length: INFLIGHT }, async () => { while (left-- > 0) await f(); })); }
const res = {};
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? Object.keys(variants).reverse() : Object.keys(variants)) {
  const u = process.cpuUsage();
  await run(variants[k], N);
  const d = process.cpuUsage(u);
  (res[k] ??= []).push((d.user + d.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k in res) console.log(k, med(res[k]).toFixed(2), res[k].map((x) => x.toFixed(2)).join(' '));
