// What an allowed action's two writes of its request row cost on PostgreSQL with the requests table's indexes as a
// build makes them, against the same table without its status index and at fillfactor 80 (where the outcome update can
// be HOT: no index entry written). A throwaway database on DATABASE_URL's server, migrated by the compiled store of
// DIST (default this tree's dist/); two empty copies of its `requests`, WARM rows each first. Then, alternating,
// ROUNDS × N pairs (an `executing` row inserted, its outcome written over it, each on its own, as the store's two
// statements commit) per copy: the backend's CPU per pair from /proc (same machine only; synchronous_commit = off, so
// the disk's flush is left out), then SAMPLE pairs under EXPLAIN (ANALYZE, WAL) for each statement's WAL records,
// full-page images and bytes, and the copies' HOT updates from pg_stat_user_tables.
// node bench/micro/request-index-writes.mjs
import { readFileSync } from 'node:fs';
import pg from 'pg';
const dist = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const env = (k, d) => Number(process.env[k] ?? d);
const WARM = env('WARM', 20000), N = env('N', 800), ROUNDS = env('ROUNDS', 10), SAMPLE = env('SAMPLE', 300);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client({ connectionString: SERVER });
await admin.connect();
const name = `cs_index_writes_${process.pid}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
try {
  const { createPostgresStore } = await import(`${dist}/adapters/store/postgres/index.js`);
  await (await createPostgresStore({ url: url.toString(), poolSize: 1 })).close();
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  const copies = { build: 'req_build', 'no status index, ff 80': 'req_hot' };
  for (const t of Object.values(copies)) await c.query(`CREATE TABLE ${t} (LIKE requests INCLUDING ALL)`);
  const status = (await c.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'req_hot' AND indexdef LIKE '%(status%'`)).rows;
  for (const { indexname } of status) await c.query(`DROP INDEX ${indexname}`);
  await c.query('ALTER TABLE req_hot SET (fillfactor = 80)');
  const record = 'x'.repeat(1450); // an allowed action's record is ~1.5 KB of JSON: kept in line, not TOASTed
  const insert = (t) => ({
    name: `ins_${t}`,
    text: `INSERT INTO ${t} (id, status, principal_id, connection, created_at, updated_at, version, digest, term_set, record)
           VALUES ($1, 'executing', 'bench-agent', 'bench-api', $2, $2, 1, $1, 1, $3)`,
  });
  const update = (t) => ({
    name: `upd_${t}`,
    text: `UPDATE ${t} SET status = 'succeeded', updated_at = $2, expires_at = NULL, escalate_at = NULL, version = 2, record = $3 WHERE id = $1 AND version = 1`,
  });
  let k = 0;
  const pair = async (t, explain = false) => {
    const id = `req_${k++}`;
    const now = new Date().toISOString();
    if (!explain) {
      await c.query(insert(t), [id, now, record]);
      await c.query(update(t), [id, now, `${record}yy`]);
      return undefined;
    }
    const wal = async (sql, values) => (await c.query(`EXPLAIN (ANALYZE, WAL, FORMAT JSON) ${sql.text}`, values)).rows[0]['QUERY PLAN'][0].Plan;
    return [await wal(insert(t), [id, now, record]), await wal(update(t), [id, now, `${record}yy`])];
  };
  for (const t of Object.values(copies)) {
    await c.query(`INSERT INTO ${t} (id, status, principal_id, connection, created_at, updated_at, version, digest, term_set, record)
                   SELECT 'warm_' || g, 'succeeded', 'bench-agent', 'bench-api', 't', 't', 2, 'd' || g, 1, $1 FROM generate_series(1, ${WARM}) g`, [record]);
    await c.query(`VACUUM ANALYZE ${t}`);
  }
  await c.query('SET synchronous_commit = off');
  const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  const cpu = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000; // clock ticks of 10 ms, in µs
  };
  const per = Object.fromEntries(Object.keys(copies).map((v) => [v, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [v, t] of Object.entries(copies)) {
      const c0 = cpu();
      for (let i = 0; i < N; i++) await pair(t);
      per[v].push((cpu() - c0) / N);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  for (const [v, t] of Object.entries(copies)) {
    const sum = { ir: 0, if: 0, ib: 0, ur: 0, uf: 0, ub: 0 };
    for (let i = 0; i < SAMPLE; i++) {
      const [a, b] = await pair(t, true);
      Object.assign(sum, { ir: sum.ir + a['WAL Records'], if: sum.if + a['WAL FPI'], ib: sum.ib + a['WAL Bytes'], ur: sum.ur + b['WAL Records'], uf: sum.uf + b['WAL FPI'], ub: sum.ub + b['WAL Bytes'] });
    }
    await c.query('SELECT pg_stat_force_next_flush()');
    const s = (await c.query('SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = $1', [t])).rows[0];
    const f = (x, d = 2) => (x / SAMPLE).toFixed(d);
    console.log(`${v}: backend CPU per pair median ${median(per[v]).toFixed(0)} µs [${per[v].map((x) => x.toFixed(0)).join(' ')}]; ` +
      `WAL per pair: insert ${f(sum.ir)} records, ${f(sum.if)} FPI, ${f(sum.ib, 0)} B; update ${f(sum.ur)} records, ${f(sum.uf)} FPI, ${f(sum.ub, 0)} B; HOT ${s.n_tup_hot_upd} of ${s.n_tup_upd} updates`);
  }
  await c.end();
} finally {
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await admin.end();
}
