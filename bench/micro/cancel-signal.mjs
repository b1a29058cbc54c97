// A statement's cancel signal: a new AbortController per statement (base) against the session's spare taken back when
// unaborted and unlistened (branch), with the listener the wire session adds and removes per flight; alternating rounds.
import { getEventListeners } from 'node:events';
const N = 200000, ROUNDS = 8; const forward = () => {};
let current, spare;
const v = {
  base: () => { current = new AbortController(); const s = current.signal; s.addEventListener('abort', forward, { once: true }); s.removeEventListener('abort', forward); current = undefined; },
  branch: () => { current = spare ?? new AbortController(); spare = undefined; const s = current.signal; s.addEventListener('abort', forward, { once: true }); s.removeEventListener('abort', forward); if (!current.signal.aborted && getEventListeners(current.signal, 'abort').length === 0) spare = current; current = undefined; },
};
const res = {};
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) { const u = process.cpuUsage(); for (let i = 0; i < N; i++) v[k](); const d = process.cpuUsage(u); (res[k] ??= []).push((d.user + d.system) / N); }
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k in res) console.log(k, med(res[k]).toFixed(2), res[k].map((x) => x.toFixed(2)).join(' '));
