// Wall p50 of a PostgreSQL store's allowed action (insert, then the outcome over the known record) at 1 in flight, two
// builds' stores alternating, beside a one-row autocommit INSERT (one WAL flush) and SELECT 1 (one round trip) on the
// same server: what of an action's latency is the commits' flush and what is the store's.
// BASE_DIST=<base>/dist [BRANCH_DIST] [DATABASE_URL] [N=300] [ROUNDS=6] node bench/micro/pg-store-latency.mjs
import pg from 'pg';
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const trees = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!trees.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const N = Number(process.env.N ?? 300), ROUNDS = Number(process.env.ROUNDS ?? 6);
const admin = new pg.Client({ connectionString: SERVER }); await admin.connect();
const stores = {}; const names = [];
let k = 0;
for (const [t, dir] of Object.entries(trees)) {
  const { createPostgresStore } = await import(`${dir}/adapters/store/postgres/index.js`);
  const name = `cs_lat_${t}_${process.pid}`; names.push(name);
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(SERVER); u.pathname = `/${name}`;
  stores[t] = await createPostgresStore({ url: u.toString(), poolSize: 10 });
}
const probe = new pg.Client({ connectionString: SERVER }); await probe.connect();
await probe.query('CREATE TABLE IF NOT EXISTS cs_lat_probe (x int)');
const rec = (id) => ({ id, status: 'executing', principal: { id: 'a', kind: 'agent', actsFor: null, groups: [], email: null }, action: { connection: 'c', operation: 'http.request', input: { method: 'GET', path: '/x' }, reason: 'r' }, connection: { name: 'c', kind: 'http', tags: Object.freeze({}) }, facts: { kind: 'http' }, digest: 'sha256:' + 'd'.repeat(64), decision: { approvers: [], effect: 'allow', message: null, policyHash: 'h', rules: ['reads'], errors: [] }, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), expiresAt: null, reviews: [], context: {}, result: null, error: null, version: 1 });
async function action(s) {
  const r = rec(`req_${process.pid}_${k++}`);
  await s.insertRequest(r, [{ type: 'request.submitted', time: r.createdAt, requestId: r.id, actor: 'a', data: {} }]);
  await s.mutateRequest(r.id, (c) => { const next = { ...c, status: 'succeeded', version: c.version + 1 }; return { next, result: next, audit: [{ type: 'request.succeeded', time: c.updatedAt, requestId: r.id, actor: null, data: {} }] }; }, r);
}
const p50 = async (fn) => { const ts = []; for (let i = 0; i < N; i++) { const t = performance.now(); await fn(); ts.push(performance.now() - t); } ts.sort((a, b) => a - b); return ts[N >> 1]; };
for (const s of Object.values(stores)) for (let i = 0; i < 50; i++) await action(s);
const out = { base: [], branch: [], insert: [], select: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const t of r % 2 ? ['branch', 'base'] : ['base', 'branch']) out[t].push(await p50(() => action(stores[t])));
  out.insert.push(await p50(() => probe.query('INSERT INTO cs_lat_probe VALUES (1)')));
  out.select.push(await p50(() => probe.query('SELECT 1')));
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [t, a] of Object.entries(out)) console.log(t.padEnd(7), 'p50 ms median', med(a).toFixed(2), '[', a.map((x) => x.toFixed(2)).join(' '), ']');
await probe.query('DROP TABLE cs_lat_probe'); await probe.end();
for (const s of Object.values(stores)) await s.close();
for (const n of names) await admin.query(`DROP DATABASE ${n} WITH (FORCE)`);
await admin.end();
