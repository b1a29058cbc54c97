/**
 * The throwaway database `cs_bench_<pid>` that `bench:pgwire` measures:
 * made and filled by `pgbench -i`, reset before every run the way pgbench
 * itself does without `-n`, and dropped at the end. Statements go through
 * psql synchronously so that the watchdog's and the signal handlers'
 * cleanup, which cannot wait for a promise, can drop it too.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where and as whom libpq clients (pgbench, psql) connect; `password` goes in PGPASSWORD, never on a command line. */
export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password?: string;
}

export interface BenchDatabase {
  readonly name: string;
  /** postgres:// URL of the database (with the admin URL's credentials). */
  readonly url: string;
  /** The database as a direct client reaches it. */
  readonly direct: PgTarget;
  /** The server's `version()`. */
  readonly serverVersion: string;
  /** pgbench's prelude without -n, run directly: VACUUM branches and tellers, TRUNCATE history. */
  reset(): void;
  /** Runs SQL on the database directly (as the admin URL's user); its output. */
  exec(sql: string): string;
  /** Drops the database (WITH (FORCE): pgbench or a pooler may still hold sessions); safe to call twice. */
  drop(): void;
}

function targetOf(url: URL, database: string): PgTarget {
  const password = decodeURIComponent(url.password);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || 'postgres',
    database,
    ...(password ? { password } : {}),
  };
}

/** libpq's environment for `t`: the connection's fields, so that no secret is in a process list. */
export function libpqEnv(t: PgTarget): Record<string, string> {
  return {
    PGHOST: t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGDATABASE: t.database,
    PGCONNECT_TIMEOUT: '10',
    ...(t.password ? { PGPASSWORD: t.password } : {}),
  };
}

function run(cmd: string, args: readonly string[], env: Record<string, string>, timeoutMs: number): string {
  const out = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.error) throw new Error(`${cmd}: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${out.status ?? out.signal}): ${out.stderr.trim().slice(-500)}`);
  return out.stdout;
}

/** Each statement in its own `-c`: psql sends one `-c` as one query string, which VACUUM may not share. */
function psql(t: PgTarget, ...statements: string[]): string {
  return run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((s) => ['-c', s])], libpqEnv(t), 120_000).trim();
}

/**
 * Creates `cs_bench_<pid>` next to DATABASE_URL's database and fills it with `pgbench -i -s <scale>`.
 *
 * @example
 * const db = createBenchDatabase(10, log);
 * try { db.reset(); ... } finally { db.drop(); }
 */
export function createBenchDatabase(scale: number, log: (line: string) => void): BenchDatabase {
  const admin = new URL(process.env['DATABASE_URL'] || DEFAULT_ADMIN_URL);
  const adminTarget = targetOf(admin, decodeURIComponent(admin.pathname.slice(1)) || 'postgres');
  const name = `cs_bench_${process.pid}`;
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  const direct = targetOf(url, name);

  // A database of this name can only be left over from a killed run of an earlier process with the same pid.
  psql(adminTarget, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psql(adminTarget, `CREATE DATABASE ${name}`);
  let dropped = false;
  const db: BenchDatabase = {
    name,
    url: url.toString(),
    direct,
    serverVersion: psql(adminTarget, 'SELECT version()'),
    reset() {
      psql(direct, 'VACUUM pgbench_branches', 'VACUUM pgbench_tellers', 'TRUNCATE pgbench_history');
    },
    exec: (sql) => psql(direct, sql),
    drop() {
      if (dropped) return;
      dropped = true;
      psql(adminTarget, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
  try {
    const started = performance.now();
    run('pgbench', ['-i', '-q', '-s', String(scale)], libpqEnv(direct), 600_000);
    log(`bench: ${name} initialised with pgbench -i -s ${scale} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    db.drop();
    throw e;
  }
  return db;
}

/**
 * Drops the bench's database (if made) and removes its directory, synchronously: for the watchdog and signals as well
 * as the normal end. A database that cannot be dropped is logged, not thrown.
 *
 * @example
 * function cleanup() { killAllChildren(); dropBenchLeftovers(db, dir, log); }
 */
export function dropBenchLeftovers(db: BenchDatabase | undefined, dir: string, log: (line: string) => void): void {
  try {
    db?.drop();
  } catch (e) {
    log(`bench: could not drop ${db?.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
