/**
 * `npm run bench:pgwire-roundtrip`: a figure that holds up on a shared
 * machine, where pgbench's tps swing with the neighbours' load. One client,
 * sequential: the median of BENCH_ROUNDS (400) round trips of pgbench's
 * select-only statement (`SELECT abalance FROM pgbench_accounts WHERE aid = n`,
 * simple protocol, node-postgres) directly, through the listener, and through
 * the listener with the connection's `sessionCheckCache` on, taking turns
 * round by round. Then, on the server alone, the session check's query and
 * the cache's verifier for that statement (EXPLAIN ANALYZE, generic plan,
 * median of 40 executions each).
 *
 * Environment: BENCH_ROUNDS (400), DATABASE_URL (the server to make the
 * database on; pgbench -i -s 1 fills it).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { analyseSql, loadSqlParser } from '../src/adapters/executor/sql/facts.ts';
import { installDdlEpochSql, stateSql, verifySql } from '../src/adapters/executor/sql/guard-cache.ts';
import { READ_ONLY_FUNCTIONS } from '../src/adapters/executor/sql/read-only-functions.ts';
import { GUARD_SQL, guardParams } from '../src/adapters/executor/sql/session-guard.ts';
import { createBenchDatabase, dropBenchLeftovers, type BenchDatabase, type PgTarget } from './support/bench-database.ts';
import { envNumber, startWatchdog } from './support/env.ts';
import { startPgwireGateway, type PgwireGateway } from './support/pgwire-gateway.ts';
import { killAllChildren } from './support/procs.ts';
import { runMain } from './support/run-main.ts';

const rounds = envNumber('BENCH_ROUNDS', 400, { integer: true, min: 10 });
const log = (line: string) => process.stderr.write(`${line}\n`);
const dir = mkdtempSync(join(tmpdir(), 'cs-bench-roundtrip-'));
let db: BenchDatabase | undefined;
function cleanup(): void {
  killAllChildren();
  dropBenchLeftovers(db, dir, log);
}
const watchdog = startWatchdog(600_000 + rounds * 1000, cleanup, log);

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function client(t: PgTarget): Promise<pg.Client> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, database: t.database, ...(t.password ? { password: t.password } : {}) });
  await c.connect();
  return c;
}

/** Median server time (planning + execution, ms) of `sql` prepared with `params`, run on a generic plan. */
async function serverTime(c: pg.Client, sql: string, types: string, params: string): Promise<number> {
  await c.query(`PREPARE bench_q${types} AS ${sql}`);
  await c.query('SET plan_cache_mode = force_generic_plan');
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, TIMING OFF) EXECUTE bench_q${params}`);
    const text = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    const ms = (label: string) => Number(new RegExp(`${label} Time: ([\\d.]+) ms`).exec(text)?.[1] ?? NaN);
    times.push(ms('Planning') + ms('Execution'));
  }
  await c.query('DEALLOCATE bench_q; RESET plan_cache_mode');
  return median(times);
}

async function main(): Promise<number> {
  db = createBenchDatabase(1, log);
  db.exec(installDdlEpochSql());
  await loadSqlParser();
  const before = loadavg()[0] ?? 0;
  const gateways: PgwireGateway[] = [];
  for (const cached of [false, true]) {
    const own = join(dir, cached ? 'cached' : 'plain');
    mkdirSync(own);
    const gw = await startPgwireGateway(own, db.url, log, cached ? { sessionCheckCache: true } : {});
    if ('skipped' in gw) throw new Error(gw.skipped);
    gateways.push(gw);
  }
  const names = ['direct', 'listener', 'listener + sessionCheckCache'];
  const clients = [await client(db.direct), ...(await Promise.all(gateways.map((g) => client(g.target))))];
  const times: number[][] = names.map(() => []);
  try {
    for (let i = 0; i < rounds + 20; i++) {
      const sql = `SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + (i % 100_000)}`;
      for (const [k, c] of clients.entries()) {
        const t0 = performance.now();
        await c.query(sql);
        // The first rounds warm the plans and the cache.
        if (i >= 20) times[k]!.push(performance.now() - t0);
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await Promise.all(gateways.map((g) => g.stop()));
  }
  const after = loadavg()[0] ?? 0;

  const sql = 'SELECT abalance FROM pgbench_accounts WHERE aid = 1';
  const allowed = new Set(READ_ONLY_FUNCTIONS);
  const params = guardParams(analyseSql(sql, {}).names, true, allowed);
  const direct = await client(db.direct);
  let guardMs: number;
  let verifyMs: number;
  try {
    const literal = (vs: readonly string[]) => `ARRAY[${vs.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
    guardMs = await serverTime(direct, GUARD_SQL, '(text[], text[], text[], text[], text[], text[])', `(${params.map(literal).join(', ')})`);
    const state = (await direct.query<{ state: string }>(stateSql('countersign'))).rows[0]?.state ?? '';
    verifyMs = await serverTime(direct, verifySql('countersign'), '(text)', `('${state.replace(/'/g, "''")}')`);
  } finally {
    await direct.end();
  }

  const m = times.map(median);
  const f = (n: number) => n.toFixed(3);
  process.stdout.write(
    [
      '',
      'Countersign PostgreSQL listener: sequential round trips (1 client, simple protocol)',
      `  command   npm run bench:pgwire-roundtrip (BENCH_ROUNDS=${rounds}); ${new Date().toISOString()}`,
      `  loadavg   ${before.toFixed(2)} before, ${after.toFixed(2)} after (1 min)`,
      `  statement ${sql.replace(/ = 1$/, ' = <n>')}`,
      ...names.map((n, k) => `  ${n.padEnd(30)} median ${f(m[k]!)} ms${k > 0 ? `   added ${f(m[k]! - m[0]!)} ms` : ''}`),
      `  server time, generic plan, median of 40: session check ${f(guardMs)} ms, cache verifier ${f(verifyMs)} ms`,
      '',
    ].join('\n'),
  );
  cleanup();
  return 0;
}

runMain(main, watchdog);
