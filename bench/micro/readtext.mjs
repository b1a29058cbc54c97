// readText of a one-chunk body (the bench's POST /v1/actions body) from a Readable standing in for Node's request,
// base vs branch, alternating rounds, process.cpuUsage; 50 reads in flight.
import { Readable } from 'node:stream';
const body = Buffer.from(JSON.stringify({ connection: 'bench-api', input: { method: 'GET', path: '/x' }, reason: 'bench' }));
const N = 50000, ROUNDS = 10;
const fns = {};
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
for (const [k, dir] of Object.entries(builds)) {
  const { readText } = await import(`${dir}/surfaces/http/body.js`);
  fns[k] = async () => {
    const incoming = new Readable({ read() {} });
    incoming.rawHeaders = ['Content-Type', 'application/json', 'Content-Length', String(body.length)];
    setImmediate(() => { incoming.push(body); incoming.push(null); });
    const t = await readText({ env: { incoming } }, 1 << 20);
    if (t.length !== body.length) throw new Error('short');
  };
}
const ctl = async () => { const incoming = new Readable({ read() {} }); setImmediate(() => { incoming.push(body); incoming.push(null); }); await new Promise((r) => setImmediate(r)); };
fns.control = ctl;
async function run(f, n) { let left = n; await Promise.all(Array.from({ length: 50 }, async () => { while (left-- > 0) await f(); })); }
const res = {};
for (const k in fns) await run(fns[k], 5000);
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? Object.keys(fns).reverse() : Object.keys(fns)) {
  const u = process.cpuUsage(); await run(fns[k], N); const d = process.cpuUsage(u);
  (res[k] ??= []).push((d.user + d.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k in res) console.log(k, med(res[k]).toFixed(2), res[k].map((x) => x.toFixed(2)).join(' '));
