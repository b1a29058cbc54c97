// A/B, base build vs branch build, alternating rounds, CPU from process.cpuUsage, of the pieces of POST /v1/actions
// outside the store that issue 16's hot-surface levers change:
// - key: hashing a presented API key;
// - parse: reading the bench's REST body and its HTTP input (JSON.parse, depth and duplicate-key checks left out);
// - clock: decide() of the bench policy with decisions 1.05 ms apart (the gateway's rate), counting CPU clock reads
//   (getrusage) per decision; CPU of decide alone cannot be told apart at this spacing, so the reads are the figure.
// BASE_DIST=<base>/dist node bench/micro/surface.mjs
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
const N = Number(process.env.N ?? 50000), ROUNDS = Number(process.env.ROUNDS ?? 8);
const { z } = await import('zod');
// The REST body's schema as main has it (the branch reads it without the schema when it can).
const zodBody = z.strictObject({ connection: z.string().min(1).max(200), input: z.unknown().refine((v) => v !== undefined, 'required'), reason: z.string().trim().min(1, 'say why (it is shown to reviewers)').max(4000) });
const texts = { allowed: '{"connection":"bench-api","input":{"method":"GET","path":"/x"},"reason":"bench"}', held: '{"connection":"bench-api","input":{"method":"POST","path":"/x","body":{"n":1}},"reason":"bench"}' };
const cases = {};
const decideOf = {};
for (const [k, dir] of Object.entries(builds)) {
  const { hashApiKey } = await import(`${dir}/adapters/identity/api-keys.js`);
  const { parseInput } = await import(`${dir}/core/action.js`);
  let body = zodBody;
  let plain = () => undefined;
  try {
    ({ submitBody: body, plainSubmitBody: plain } = await import(`${dir}/surfaces/http/submit-body.js`));
  } catch {}
  const key = 'cs_Qm9vZ2xlIGlzIG5vdCBhIGtleSBidXQgdGhpcyBpcyBhIGJlbmNo';
  (cases['key'] ??= {})[k] = () => hashApiKey(key);
  for (const [mode, text] of Object.entries(texts)) {
    (cases[`parse ${mode}`] ??= {})[k] = () => {
      const raw = JSON.parse(text);
      const b = plain(raw) ?? body.parse(raw);
      return parseInput('http', b.input);
    };
  }
  const { compilePolicy } = await import(`${dir}/core/policy/compile.js`);
  const { decide } = await import(`${dir}/service/decide.js`);
  const policy = compilePolicy({ default: 'deny', defaultTtlSeconds: 3600, rules: [{ id: 'reads', when: 'facts.http.method == "GET"', effect: 'allow' }] });
  const action = { connection: 'bench-api', operation: 'http.request', input: { method: 'GET', path: '/x' }, reason: 'bench' };
  const facts = { kind: 'http', writes: false, http: { method: 'GET', path: '/x', query: {} } };
  decideOf[k] = () => decide(policy, { id: 'bench-bot', kind: 'agent', groups: [] }, action, { kind: 'http', name: 'bench-api', tags: {} }, facts, { time: new Date(), request: { surface: 'rest' } });
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [name, fs] of Object.entries(cases)) {
  const res = { base: [], branch: [] };
  for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
    for (let i = 0; i < 2000; i++) fs[k]();
    const u = process.cpuUsage();
    for (let i = 0; i < N; i++) fs[k]();
    const d = process.cpuUsage(u);
    res[k].push((d.user + d.system) / N);
  }
  for (const k of ['base', 'branch']) console.log(name.padEnd(14), k.padEnd(6), 'µs median', med(res[k]).toFixed(2), 'rounds', res[k].map((x) => x.toFixed(2)).join(' '));
}
const cpuUsage = process.cpuUsage;
let reads = 0;
process.cpuUsage = (...a) => (reads++, cpuUsage(...a));
for (const k of ['base', 'branch']) {
  reads = 0;
  for (let i = 0; i < 500; i++) {
    decideOf[k]();
    const until = performance.now() + 1.05;
    while (performance.now() < until);
  }
  console.log('clock'.padEnd(14), k.padEnd(6), 'CPU clock reads per decision', (reads / 500).toFixed(2));
}
process.cpuUsage = cpuUsage;
