// Where a gateway's garbage comes from: a compiled gateway (DIST, default this tree's dist/) and its load in one
// process, with V8's sampling heap profiler counting every allocation, the young ones the scavenger frees included
// (a --heap-prof profile keeps only what is still live at its end). Prints the bytes allocated per action, the
// functions that allocate most (self), and with CALLERS=<regex> the callers of matching functions (e.g. 'sort|Map').
// The load generator's own allocations (node:_http_client, node:_http_agent, this file) are in the total.
// MODE allowed|held, N actions profiled (after 2,000 unprofiled), TOP rows.
// node bench/micro/alloc-profile.mjs
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchGatewayYaml } from './ab-config.mjs';
const dist = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const MODE = process.env.MODE ?? 'held', N = Number(process.env.N ?? 6000), CONC = Number(process.env.CONC ?? 50), TOP = Number(process.env.TOP ?? 40);
const { parseConfig } = await import(`${dist}/config/load.js`);
const { startGateway } = await import(`${dist}/main.js`);
const { generateApiKey } = await import(`${dist}/adapters/identity/api-keys.js`);
const up = fork(new URL('./executor-upstream.mjs', import.meta.url));
const port = await new Promise((r) => up.once('message', r));
const agent = generateApiKey(), human = generateApiKey();
const dir = mkdtempSync(join(tmpdir(), 'cs-alloc-'));
const yaml = benchGatewayYaml({ store: `{ sqlite: { path: "${dir}/countersign.db", synchronous: normal } }`, dir, port, agentHash: agent.hash, humanHash: human.hash });
const gateway = await startGateway(parseConfig(yaml, 'bench.yaml', process.env));
const url = new URL(gateway.url);
const body = JSON.stringify({ connection: 'bench-api', input: MODE === 'held' ? { method: 'POST', path: '/x', body: { n: 1 } } : { method: 'GET', path: '/x' }, reason: 'bench' });
const httpAgent = new Agent({ keepAlive: true, maxSockets: CONC });
const headers = { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
const one = () =>
  new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/v1/actions', method: 'POST', agent: httpAgent, headers }, (res) => {
      if (res.statusCode !== (MODE === 'held' ? 202 : 200)) reject(new Error(`status ${res.statusCode}`));
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
async function run(n) {
  let left = n;
  await Promise.all(Array.from({ length: CONC }, async () => { while (left-- > 0) await one(); }));
}
await run(2000);
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await run(N);
const { profile } = await session.post('HeapProfiler.stopSampling');
const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const self = new Map(), callers = new Map();
const want = process.env.CALLERS ? new RegExp(process.env.CALLERS) : undefined;
let total = 0;
(function walk(n, stack) {
  const k = name(n);
  total += n.selfSize;
  self.set(k, (self.get(k) ?? 0) + n.selfSize);
  if (want?.test(k) && n.selfSize) {
    const from = `${k}  <  ${stack.slice(-4).reverse().join('  <  ')}`;
    callers.set(from, (callers.get(from) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, [...stack, k]);
})(profile.head, []);
console.log(`${MODE}, ${CONC} in flight: ${(total / N).toFixed(0)} bytes allocated per action (sampled every 4 KiB), top functions by bytes allocated (self):`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} % ${(v / N).toFixed(0).padStart(6)} B/action  ${k}`);
if (want) {
  console.log('callers:');
  for (const [k, v] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${(v / N).toFixed(0).padStart(6)} B/action  ${k}`);
}
session.disconnect();
await gateway.close();
up.kill();
httpAgent.destroy();
rmSync(dir, { recursive: true, force: true });
