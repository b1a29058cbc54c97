// A/B: decide() of the bench policy on a GET action (MODE=held: the bench's POST with a body), base build vs branch build,
// alternating rounds, process.cpuUsage. FACTS=1 derives the action's HTTP facts in each call too, as submit does.
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const N = Number(process.env.N ?? 50000), ROUNDS = Number(process.env.ROUNDS ?? 6);
const mods = {};
for (const [k, dir] of Object.entries(builds)) {
  const { compilePolicy } = await import(`${dir}/core/policy/compile.js`);
  const { decide } = await import(`${dir}/service/decide.js`);
  const { deriveHttpFacts } = await import(`${dir}/adapters/executor/http/facts.js`);
  const spec = { default: 'deny', defaultTtlSeconds: 3600, rules: [
    { id: 'reads', when: 'facts.http.method == "GET"', effect: 'allow' },
    { id: 'writes', when: 'facts.http.method == "POST"', effect: 'approve', approvers: [{ principals: ['alice'], count: 1 }], ttlSeconds: 3600 } ] };
  const policy = compilePolicy(spec);
  const input = process.env.MODE === 'held' ? { method: 'POST', path: '/x', body: { n: 1 } } : { method: 'GET', path: '/x' };
  const target = { caseInsensitivePaths: false, keepTrailingSlash: false, allowHeaders: [], allowQuery: [] };
  const facts = deriveHttpFacts(input, target);
  const principal = { id: 'bench-bot', kind: 'agent', groups: [] };
  const action = { connection: 'bench-api', operation: 'http.request', input, reason: 'bench' };
  const connection = { kind: 'http', name: 'bench-api', tags: { env: 'bench' } };
  mods[k] = () => decide(policy, principal, action, connection, process.env.FACTS === '1' ? deriveHttpFacts(input, target) : facts, { time: new Date(), request: { surface: 'rest' } });
  const d = mods[k]();
  if (d.effect !== (process.env.MODE === 'held' ? 'approve' : 'allow')) throw new Error(`${k}: ${JSON.stringify(d)}`);
}
const res = { base: [], branch: [] };
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
  const f = mods[k];
  for (let i = 0; i < 2000; i++) f();
  const u = process.cpuUsage();
  for (let i = 0; i < N; i++) f();
  const d = process.cpuUsage(u);
  res[k].push((d.user + d.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of ['base', 'branch']) console.log(k, 'µs/decision median', med(res[k]).toFixed(2), 'rounds', res[k].map((x) => x.toFixed(2)).join(' '));
