import { nodeHash, leafHash } from '../src/core/merkle/index.ts';
import { hash, createHash } from 'node:crypto';
const a = leafHash('a'), b = leafHash('b');
const t = (label: string, fn: () => void) => { const s = performance.now(); fn(); console.log(label, ((performance.now() - s) * 1000 / 200000).toFixed(2), 'µs each'); };
const buf = new Uint8Array(65);
for (let k = 0; k < 3; k++) {
  t('nodeHash', () => { for (let i = 0; i < 200000; i++) nodeHash(a, b); });
  t('crypto.hash buffer', () => { for (let i = 0; i < 200000; i++) hash('sha256', buf, 'buffer'); });
  t('createHash', () => { for (let i = 0; i < 200000; i++) createHash('sha256').update(buf).digest(); });
  t('alloc objects', () => { const arr = []; for (let i = 0; i < 200000; i++) arr.push([{ level: 0, index: i, hash: a }]); });
}
