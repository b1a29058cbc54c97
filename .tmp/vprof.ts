import { makeBundle, makeLog, newLogKey } from '../test/support/audit-log.ts';
import { verifyBundle } from '../src/core/audit-bundle.ts';
import { hashLeavesInParallel, verifyBundleInParallel } from '../src/adapters/verify/parallel-leaves.ts';
import { leafHash } from '../src/core/merkle/index.ts';
const N = 200_000;
const key = newLogKey('x/y');
const pad = 'p'.repeat(700);
const events = makeLog(Array.from({ length: N }, (_, i) => ({ i, pad })));
const sizes = Array.from({ length: N / 1000 }, (_, i) => (i + 1) * 1000);
const f = makeBundle(events, key, { sizes });
const files = { ...f, events: Buffer.from(f.events as string) };
const t = (label: string, fn: () => unknown) => { const s = performance.now(); const r = fn(); console.log(label, (performance.now() - s).toFixed(0), 'ms'); return r; };
for (let k = 0; k < 2; k++) {
  t('serial verify', () => verifyBundle(files));
  const body = files.events.subarray(0, files.events.length - 1);
  t('leafHash only (serial)', () => { let i = 0, s = 0; for (;;) { const nl = body.indexOf(10, s); const e = nl === -1 ? body.length : nl; leafHash(body.subarray(s, e)); i++; if (nl === -1) break; s = nl + 1; } });
  let s = performance.now();
  const leaves = await hashLeavesInParallel(body, { threads: 2 });
  console.log('start workers+copy', (performance.now() - s).toFixed(0));
  s = performance.now();
  leaves.leafHash(N - 1, Buffer.alloc(0));
  console.log('wait all leaves', (performance.now() - s).toFixed(0));
  t('verify with ready leaves', () => verifyBundle(files, { leafHash: leaves.leafHash }));
  await leaves.close();
  s = performance.now();
  await verifyBundleInParallel(files);
  console.log('parallel total', (performance.now() - s).toFixed(0));
}
