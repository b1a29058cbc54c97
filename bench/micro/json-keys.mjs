// The work added at submit by the field-name checks, alone, as CPU time (process.cpuUsage): the exact-duplicate scan of
// a POST /v1/actions body, and the folded scan of an action's JSON body; JSON.parse of the same text beside them.
const dist = process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { jsonKeyClash, foldKey } = await import(`${dist}/core/json-keys.js`);
const small = JSON.stringify({ connection: 'billing-api', input: { method: 'POST', path: '/refunds', headers: { 'Content-Type': 'application/json' }, body: { invoice: 'inv_1', amount: 1200, currency: 'EUR', lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] } }, reason: 'charged twice' });
const big = JSON.stringify({ connection: 'x', input: { method: 'POST', path: '/bulk', body: { rows: Array.from({ length: 6000 }, (_, i) => ({ id: i, name: `row ${i}`, value: i * 3.5, tags: ['a', 'b'] })) } }, reason: 'bulk' });
const ROUNDS = 5;
function cpu(n, f) {
  for (let i = 0; i < Math.min(n, 1000); i++) f();
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
}
const cases = {
  [`${small.length} B: JSON.parse`]: [100_000, () => JSON.parse(small)],
  [`${small.length} B: exact-duplicate scan`]: [100_000, () => jsonKeyClash(small)],
  [`${small.length} B: folded scan`]: [100_000, () => jsonKeyClash(small, foldKey)],
  [`${big.length} B: JSON.parse`]: [40, () => JSON.parse(big)],
  [`${big.length} B: exact-duplicate scan`]: [40, () => jsonKeyClash(big)],
  [`${big.length} B: folded scan`]: [40, () => jsonKeyClash(big, foldKey)],
};
const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) for (const [k, [n, f]] of Object.entries(cases)) runs[k].push(cpu(n, f));
for (const [k, xs] of Object.entries(runs)) console.log(k.padEnd(40), `median ${xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(2)} µs CPU per op`);
