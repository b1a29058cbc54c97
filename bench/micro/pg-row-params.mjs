// A/B of a PostgreSQL batch's request-row parameters (postgres/requests.ts deferredRows().values(), then node-postgres's
// prepareValue of each, as the driver sends them) for allowed actions as the gateway writes them: each batch inserts
// B records (executing) and writes the outcome (succeeded, over the record the caller knows) of the previous batch's.
// Both builds in one process, alternating rounds, CPU time (process.cpuUsage) per allowed action. The records are the
// bench gateway's allowed GET (bench/micro/gateway-ab.mjs); MODE=held inserts pending POSTs only.
// BASE_DIST=<base>/dist node bench/micro/pg-row-params.mjs   (MODE, B, N, ROUNDS)
import utils from 'pg/lib/utils.js';
const BASE = process.env.BASE_DIST;
if (!BASE) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const BRANCH = new URL('../../dist', import.meta.url).pathname;
const MODE = process.env.MODE ?? 'allowed', B = Number(process.env.B ?? 20), N = Number(process.env.N ?? 4000), ROUNDS = Number(process.env.ROUNDS ?? 16);
const builds = { base: (await import(`${BASE}/adapters/store/postgres/requests.js`)).deferredRows, branch: (await import(`${BRANCH}/adapters/store/postgres/requests.js`)).deferredRows };
const { makeFacts } = await import(`${BRANCH}/core/facts.js`);
const { transition } = await import(`${BRANCH}/core/request.js`);
const policyHash = 'sha256:97ff00a3d18dc6882a85672d42a471627057e2e1356261e9b2e398177e0f231f';
let n = 0;
function submitted() {
  const held = MODE === 'held';
  const input = held ? { method: 'POST', path: '/x', body: { n: 1 } } : { method: 'GET', path: '/x' };
  return {
    id: `req_mxc481g9083156226229${String(n++).padStart(6, '0')}`, status: held ? 'pending' : 'executing',
    principal: { id: 'bench-bot', kind: 'agent', actsFor: null, groups: [], email: null },
    action: { connection: 'bench-api', operation: 'http.request', input, reason: 'bench' }, connection: { kind: 'http', name: 'bench-api', tags: { env: 'bench' } },
    facts: makeFacts('http', { writes: held, http: { method: input.method, path: '/x', query: {} } }), digest: 'sha256:447abd0fd688aaed6f2ff2480ad93674197bc5b43c59879e24dfee434e35c805',
    decision: held
      ? { effect: 'approve', rules: ['writes'], approvers: [{ count: 1, groups: [], principals: ['alice'], rule: 'writes' }], message: null, policyHash, ttlSeconds: 3600, errors: [] }
      : { effect: 'allow', rules: ['reads'], approvers: [], message: null, policyHash, ttlSeconds: null, errors: [] },
    createdAt: '2026-12-06T17:28:34.903Z', updatedAt: '2026-12-06T17:28:34.903Z', expiresAt: held ? '2026-12-06T18:28:34.949Z' : null,
    context: { remoteAddress: '127.0.0.1', surface: 'rest', userAgent: 'node' }, reviews: [], result: null, error: null, version: 1,
    ...(held ? {} : { runDeadline: '2026-12-06T17:29:34.903Z' }),
  };
}
const now = new Date('2026-12-06T17:28:34.931Z');
const outcome = (r) => transition(r, 'succeeded', now, { runDeadline: null, result: { status: 200, contentType: 'application/json; charset=utf-8', body: { ok: true, items: [1, 2, 3] } }, error: null });
function round(deferredRows) {
  // Records made before the clock starts; their outcomes, as execute.ts makes them, too.
  const batches = Array.from({ length: N / B }, () => Array.from({ length: B }, submitted));
  const outcomes = batches.map((batch) => (MODE === 'held' ? [] : batch.map(outcome)));
  let bytes = 0;
  const t = process.cpuUsage();
  for (let i = 0; i < batches.length; i++) {
    const rows = deferredRows();
    for (const r of batches[i]) rows.insert(r, 1);
    if (i > 0) batches[i - 1].forEach((r, j) => { if (outcomes[i - 1][j]) rows.update(r, outcomes[i - 1][j]); });
    for (const v of rows.values()) {
      const sent = utils.prepareValue(v);
      bytes += typeof sent === 'string' ? sent.length : 0;
    }
  }
  const c = process.cpuUsage(t);
  return { cpu: (c.user + c.system) / N, bytes: bytes / N };
}
const res = { base: [], branch: [] }, bytes = {};
for (let r = 0; r < ROUNDS + 2; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
  const got = round(builds[k]);
  if (r >= 2) res[k].push(got.cpu);
  bytes[k] = got.bytes;
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const lower = res.branch.filter((b, i) => b < res.base[i]).length;
console.log(`${MODE}, batches of ${B}, ${ROUNDS} rounds × ${N}: parameters' CPU per action, median [range]; characters sent per action`);
for (const k of ['base', 'branch']) console.log(k.padEnd(6), med(res[k]).toFixed(2), 'µs [', Math.min(...res[k]).toFixed(2), '–', Math.max(...res[k]).toFixed(2), ']', Math.round(bytes[k]), 'characters');
console.log(`branch lower in ${lower} of ${ROUNDS} rounds`);
