import { makeBundle, makeLog, newLogKey } from '../test/support/audit-log.ts';
import { verifyBundle } from '../src/core/audit-bundle.ts';
import { leafHash, Frontier } from '../src/core/merkle/index.ts';
const N = 200_000;
const key = newLogKey('x/y');
const pad = 'p'.repeat(700);
const events = makeLog(Array.from({ length: N }, (_, i) => ({ i, pad })));
const sizes = Array.from({ length: N / 1000 }, (_, i) => (i + 1) * 1000);
const f = makeBundle(events, key, { sizes });
const files = { ...f, events: Buffer.from(f.events as string) };
const body = files.events.subarray(0, files.events.length - 1);
const hashes: Uint8Array[] = [];
{ let s = 0; for (;;) { const nl = body.indexOf(10, s); const e = nl === -1 ? body.length : nl; hashes.push(leafHash(body.subarray(s, e))); if (nl === -1) break; s = nl + 1; } }
const t = (label: string, fn: () => unknown) => { const s = performance.now(); fn(); console.log(label, (performance.now() - s).toFixed(0), 'ms'); };
for (let k = 0; k < 3; k++) {
  t('verify with precomputed', () => verifyBundle(files, { leafHash: (i) => hashes[i]! }));
  t('frontier only', () => { const fr = Frontier.from({ size: 0, nodes: [] }); for (const h of hashes) fr.append(h); });
  t('lines only', () => { let s = 0, n = 0; for (;;) { const nl = body.indexOf(10, s); n++; if (nl === -1) break; s = nl + 1; } });
  const SEQ = Buffer.from('"seq":');
  t('lines + lastIndexOf', () => { let s = 0; for (;;) { const nl = body.indexOf(10, s); const e = nl === -1 ? body.length : nl; body.subarray(s, e).lastIndexOf(SEQ); if (nl === -1) break; s = nl + 1; } });
}
