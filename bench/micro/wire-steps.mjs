// The gateway's own messages in the flight of a read outside a block with a cached session check (wire-session.ts
// step: BEGIN READ ONLY, the verifier with its one value, COMMIT; a Bind, Execute and Close each), built as main builds
// them (pg-protocol's serialize for every message) and as the branch does (wire-own.ts: the Execute and Close of the
// portal and a Bind without values built once). Alternating rounds in one process, process.cpuUsage; the bytes are checked equal.
// [N=200000] [ROUNDS=8] node bench/micro/wire-steps.mjs
import { serialize } from 'pg-protocol';
const own = await import(new URL('../../dist/adapters/executor/sql/wire-own.js', import.meta.url).pathname);
const N = Number(process.env.N ?? 200000), ROUNDS = Number(process.env.ROUNDS ?? 8);
const { PORTAL, RESERVED_PREFIX } = own;
const steps = [{ key: 'begin_ro' }, { key: 'cache_verify', values: ['7:1234:5678:9012 3:4567 bench bench {pg_catalog,public} '] }, { key: 'commit' }];
const ways = {
  main: (s) => [serialize.bind({ portal: PORTAL, statement: RESERVED_PREFIX + s.key, values: s.values ?? [] }), serialize.execute({ portal: PORTAL }), serialize.close({ type: 'P', name: PORTAL })],
  branch: (s) => [own.bindOwn(s.key, s.values), own.EXECUTE_PORTAL, own.CLOSE_PORTAL],
};
for (const s of steps) if (!Buffer.concat(ways.main(s)).equals(Buffer.concat(ways.branch(s)))) throw new Error(`different bytes for ${s.key}`);
const res = { main: [], branch: [] };
let sink = 0;
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'main'] : ['main', 'branch']) {
  const f = ways[k];
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) for (const s of steps) sink += f(s).length;
  const c = process.cpuUsage(c0);
  res[k].push((c.user + c.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`the gateway's messages of one cached read, ${ROUNDS} rounds × ${N} (${sink > 0 ? 'ok' : ''})`);
for (const k of ['main', 'branch']) console.log(k.padEnd(6), 'µs per statement median', med(res[k]).toFixed(2), '[', res[k].map((x) => x.toFixed(2)).join(' '), ']');
