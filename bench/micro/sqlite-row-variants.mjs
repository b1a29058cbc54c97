// Raw SQL on the store's schema (dist/ of this tree: its migrations and request statements), one file per variant,
// alternating rounds, CPU time (process.cpuUsage) per allowed action as the SQLite store writes it: the request row
// inserted (1.3 KB record) with its request.submitted event (850 B), then in the next transaction its outcome
// (UPDATE_STATE, a 420 B state) with request.succeeded (250 B); B actions per transaction (a gateway at 50 connections
// commits about 20 writes at a time, at 1 connection one). Variants (V, comma-separated):
//   cur       the schema as it is
//   noidx     without the (status, expires_at) index
//   open-in   that index partial, WHERE status IN ('pending', 'approved', 'executing')
//   pending   that index partial, WHERE status = 'pending'
//   sep       the outcome's state appended to a table of its own instead of growing the request row
// node bench/micro/sqlite-row-variants.mjs   (V, B, N, ROUNDS)
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dist = new URL('../../dist', import.meta.url).pathname;
const { migrate } = await import(`${dist}/adapters/store/sqlite/schema.js`);
const { INSERT_REQUEST, UPDATE_STATE } = await import(`${dist}/adapters/store/sqlite/request-rows.js`);
const B = Number(process.env.B ?? 20), N = Number(process.env.N ?? 4000), ROUNDS = Number(process.env.ROUNDS ?? 6);
const record = JSON.stringify({ x: 'r'.repeat(1280) }), state = JSON.stringify({ s: 's'.repeat(400) });
const submitted = 'e'.repeat(850), succeeded = 'e'.repeat(250), hash = 'h'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'cs-row-variants-'));
const INDEX = {
  noidx: 'DROP INDEX requests_status_expires',
  'open-in': `DROP INDEX requests_status_expires; CREATE INDEX requests_open ON requests (status, expires_at) WHERE status IN ('pending', 'approved', 'executing')`,
  pending: `DROP INDEX requests_status_expires; CREATE INDEX requests_pending ON requests (status, expires_at) WHERE status = 'pending'`,
  sep: 'CREATE TABLE request_state (rid INTEGER PRIMARY KEY, state TEXT NOT NULL) STRICT',
};
function open(variant) {
  const db = new Database(join(dir, `${variant}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  migrate(db);
  if (INDEX[variant]) db.exec(INDEX[variant]);
  const insert = db.prepare(INSERT_REQUEST), update = db.prepare(UPDATE_STATE);
  const audit = db.prepare('INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const updateColumns = db.prepare('UPDATE requests SET status = ?, updated_at = ?, expires_at = ?, escalate_at = ?, version = ? WHERE id = ? AND version = ? RETURNING rowid');
  const insertState = variant === 'sep' ? db.prepare('INSERT INTO request_state (rid, state) VALUES (?, ?)') : undefined;
  let seq = 0, n = 0, open = [];
  const batch = db.transaction((k) => {
    const now = new Date().toISOString();
    for (const id of open) {
      if (insertState) insertState.run(updateColumns.get('succeeded', now, null, null, 2, id, 1).rowid, state);
      else update.run('succeeded', now, null, null, 2, state, id, 1);
      audit.run(++seq, now, 'request.succeeded', id, null, succeeded, hash);
    }
    open = [];
    for (let i = 0; i < k; i++) {
      const id = `req_${Date.now().toString(36)}${String(++n).padStart(8, '0')}abcdefabcdef`;
      insert.run([id, 'executing', 'bench-bot', null, 'bench-api', now, now, null, null, 1, `sha256:${'d'.repeat(64)}`, 1, null, record]);
      audit.run(++seq, now, 'request.submitted', id, 'bench-bot', submitted, hash);
      open.push(id);
    }
  });
  return { db, run: (count) => { for (let i = 0; i < count; i += B) batch.immediate(B); } };
}
const variants = (process.env.V ?? 'cur,noidx,open-in,pending,sep').split(',');
const stores = Object.fromEntries(variants.map((v) => [v, open(v)]));
for (const v of variants) stores[v].run(2000);
const res = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < ROUNDS; r++) for (const v of r % 2 ? [...variants].reverse() : variants) {
  const t = process.cpuUsage();
  stores[v].run(N);
  const c = process.cpuUsage(t);
  res[v].push((c.user + c.system) / N);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${B} actions per transaction, ${ROUNDS} rounds × ${N}: CPU µs per action, median [rounds]`);
for (const v of variants) console.log(v.padEnd(8), med(res[v]).toFixed(1).padStart(7), '[', res[v].map((x) => x.toFixed(1)).join(' '), ']');
for (const v of variants) stores[v].db.close();
rmSync(dir, { recursive: true, force: true });
