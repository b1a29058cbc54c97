// A/B of the PostgreSQL store's write path under replicas: allowed actions (the request's insert, then its outcome
// over the known record, as the gateway writes them) driven through stores of two builds (base and branch), each store
// in a child process of its own, alternating rounds. Per build, one throwaway database shared by its replicas: one
// replica with CONC in flight (as bench:replicas b), then REPLICAS replicas with CONC / REPLICAS each (as c). Reports
// actions/s and the replicas' own CPU per action (process.cpuUsage), the ratios of the replicated run over the single,
// and branch over base: the write path's cost without HTTP, the upstream or the load generator on the cores.
// SEPARATE=1: each replica on a database of its own, sharing nothing (bench:replicas d). IN_PROCESS=1: every store in
// this process (one thread), so the figure is the write path's, not the processes' competition for the cores.
// PROFILE_DIR=<dir>: a CPU profile of each replica over each measured run, `<build>-<1x|Nx>-r<round>.<pid>.cpuprofile`.
// BASE_DIST=<base>/dist [BRANCH_DIST] [DATABASE_URL] [CONC=50] [N=3000 actions per round] [ROUNDS=4] [REPLICAS=2]
//   node bench/micro/pg-replicas-ab.mjs
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? fileURLToPath(new URL('../../dist', import.meta.url)) };
const CONC = Number(process.env.CONC ?? 50), N = Number(process.env.N ?? 3000), ROUNDS = Number(process.env.ROUNDS ?? 4), REPLICAS = Number(process.env.REPLICAS ?? 2);
const SEPARATE = process.env.SEPARATE === '1';
const IN_PROCESS = process.env.IN_PROCESS === '1';

/** A CPU profile of one measured run, with PROFILE_DIR: `<label>.<pid>.cpuprofile` there. */
function m_profiler() {
  let session;
  const post = (method, params = {}) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
  return {
    async start() {
      const { Session } = await import('node:inspector');
      session = new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 500 });
      await post('Profiler.start');
    },
    async stop(file) {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
    },
  };
}

/** A store of `dist` on `url` driving allowed actions: `drive(n, conc)` runs n of them with conc in flight. */
async function replicaOf(dist, url) {
  const { createPostgresStore } = await import(`${dist}/adapters/store/postgres/index.js`);
  const store = await createPostgresStore({ url, poolSize: 10 });
  let k = 0;
  const tag = Math.random().toString(36).slice(2, 8);
  const now = () => new Date().toISOString();
  const rec = (id) => ({ id, status: 'executing', principal: { id: 'a', kind: 'agent', actsFor: null, groups: [], email: null }, action: { connection: 'c', operation: 'http.request', input: { method: 'GET', path: '/x' }, reason: 'r' }, connection: { name: 'c', kind: 'http', tags: Object.freeze({}) }, facts: { kind: 'http' }, digest: 'sha256:' + 'd'.repeat(64), decision: { approvers: [], effect: 'allow', message: null, policyHash: 'h', rules: ['reads'], errors: [] }, createdAt: now(), updatedAt: now(), expiresAt: null, reviews: [], context: {}, result: null, error: null, version: 1 });
  const action = async () => {
    const r = rec(`req_${tag}_${k++}`);
    await store.insertRequest(r, [{ type: 'request.submitted', time: r.createdAt, requestId: r.id, actor: 'a', data: {} }]);
    await store.mutateRequest(r.id, (c) => { const next = { ...c, status: 'succeeded', version: c.version + 1 }; return { next, result: next, audit: [{ type: 'request.succeeded', time: now(), requestId: r.id, actor: null, data: {} }] }; }, r);
  };
  return {
    async drive(n, conc) {
      let left = n;
      await Promise.all(Array.from({ length: conc }, async () => { while (left-- > 0) await action(); }));
    },
    close: () => store.close(),
  };
}

if (process.env.REPLICA_DIST) {
  // A replica in a process of its own: runs `n` actions with `conc` in flight when told, and says what CPU it took.
  const replica = await replicaOf(process.env.REPLICA_DIST, process.env.REPLICA_URL);
  const profile = process.env.PROFILE_DIR && m_profiler();
  process.on('message', async (m) => {
    if (m.stop) { await replica.close(); process.exit(0); }
    if (profile && m.label) await profile.start();
    const cpu = process.cpuUsage();
    const t = performance.now();
    await replica.drive(m.n, m.conc);
    const used = process.cpuUsage(cpu);
    if (profile && m.label) await profile.stop(`${process.env.PROFILE_DIR}/${m.label}.${process.pid}.cpuprofile`);
    process.send({ cpuUs: used.user + used.system, ms: performance.now() - t });
  });
  process.send({ ready: true });
} else {
  if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  const names = [];
  const replicas = {};
  for (const [b, dist] of Object.entries(builds)) {
    replicas[b] = [];
    let u;
    // One after the other: the first migrates.
    for (let i = 0; i < REPLICAS; i++) {
      if (i === 0 || SEPARATE) {
        const name = `cs_replicas_ab_${b}_${i}_${process.pid}`;
        names.push(name);
        await admin.query(`CREATE DATABASE ${name}`);
        u = new URL(SERVER);
        u.pathname = `/${name}`;
      }
      if (IN_PROCESS) {
        replicas[b].push(await replicaOf(dist, u.toString()));
        continue;
      }
      const c = fork(fileURLToPath(import.meta.url), { env: { ...process.env, REPLICA_DIST: dist, REPLICA_URL: u.toString() } });
      await new Promise((r) => c.once('message', r));
      replicas[b].push({
        drive: (n, conc, label) => new Promise((r) => { c.once('message', r); c.send({ n, conc, label }); }),
        close: () => c.send({ stop: true }),
      });
    }
  }
  async function phase(cs, label) {
    const per = Math.floor(N / cs.length);
    const cpu = process.cpuUsage();
    const t = performance.now();
    const res = await Promise.all(cs.map((c) => c.drive(per, Math.max(1, Math.floor(CONC / cs.length)), label)));
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const cpuUs = IN_PROCESS ? used.user + used.system : res.reduce((s, x) => s + x.cpuUs, 0);
    return { rate: (per * cs.length) / (ms / 1000), cpu: cpuUs / (per * cs.length) };
  }
  for (const b of Object.keys(builds)) { await phase(replicas[b].slice(0, 1)); await phase(replicas[b]); } // warm-up
  const out = { base: { one: [], many: [] }, branch: { one: [], many: [] } };
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
      out[b].one.push(await phase(replicas[b].slice(0, 1), `${b}-1x-r${r + 1}`));
      out[b].many.push(await phase(replicas[b], `${b}-${REPLICAS}x-r${r + 1}`));
    }
    const f = (x) => `${x.rate.toFixed(0)}/s ${x.cpu.toFixed(0)}us`;
    console.log(`round ${r + 1}: base 1x ${f(out.base.one[r])}, ${REPLICAS}x ${f(out.base.many[r])} | branch 1x ${f(out.branch.one[r])}, ${REPLICAS}x ${f(out.branch.many[r])} | load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  for (const b of Object.keys(builds)) {
    const o = out[b];
    console.log(`${b.padEnd(7)} median: 1 replica ${med(o.one.map((x) => x.rate)).toFixed(0)}/s ${med(o.one.map((x) => x.cpu)).toFixed(0)} us/action; ${REPLICAS} replicas ${med(o.many.map((x) => x.rate)).toFixed(0)}/s ${med(o.many.map((x) => x.cpu)).toFixed(0)} us/action; ${REPLICAS}x/1x rate ${med(o.many.map((x, i) => x.rate / o.one[i].rate)).toFixed(2)}, cpu ${med(o.many.map((x, i) => x.cpu / o.one[i].cpu)).toFixed(2)}`);
  }
  const ratio = (k, m) => med(out.branch[k].map((x, i) => x[m] / out.base[k][i][m])).toFixed(2);
  console.log(`branch/base (median of rounds): 1 replica rate ${ratio('one', 'rate')} cpu ${ratio('one', 'cpu')}; ${REPLICAS} replicas rate ${ratio('many', 'rate')} cpu ${ratio('many', 'cpu')}`);
  for (const b of Object.keys(builds)) for (const c of replicas[b]) await c.close();
  await new Promise((r) => setTimeout(r, 500));
  for (const n of names) await admin.query(`DROP DATABASE ${n} WITH (FORCE)`);
  await admin.end();
}
