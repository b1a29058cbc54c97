/**
 * pgbouncer as the bench's yardstick for a proxy in front of PostgreSQL:
 * installed from the distribution's packages when missing, run as a child
 * with a generated ini (session pooling, trust for the one database's user,
 * TCP on loopback only, no unix socket), stopped when the bench ends.
 * pgbouncer refuses to run as root, so under root it drops to `postgres`
 * (or `nobody`) with `-u`, after reading the ini as root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { adopt, exitOf } from './procs.ts';
import { freePort, waitForPort } from './ports.ts';
import type { PgTarget } from './bench-database.ts';

export interface Pgbouncer {
  readonly pid: number;
  /** The database as a client of pgbouncer reaches it. */
  readonly target: PgTarget;
  readonly version: string;
  exited(): boolean;
  stop(): Promise<void>;
}

function found(): string | undefined {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    if (spawnSync(p, ['--version']).status === 0) return p;
  }
  return spawnSync('pgbouncer', ['--version']).status === 0 ? 'pgbouncer' : undefined;
}

/**
 * The pgbouncer binary, installed with apt-get first when there is none (root only; otherwise says what to run).
 *
 * @example
 * const bin = ensurePgbouncer(log);
 */
export function ensurePgbouncer(log: (line: string) => void): string {
  const bin = found();
  if (bin) return bin;
  if (process.getuid?.() !== 0) throw new Error('pgbouncer is not installed; install it (e.g. sudo apt-get install -y pgbouncer) and run the bench again');
  log('bench: pgbouncer is missing; apt-get install -y pgbouncer');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'pgbouncer']]) {
    const out = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (out.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${out.status ?? out.signal ?? out.error?.message}): ${(out.stderr ?? '').trim().slice(-500)}`);
  }
  const installed = found();
  if (!installed) throw new Error('apt-get installed pgbouncer, but no pgbouncer binary was found');
  return installed;
}

/** Under root, the user pgbouncer switches to. */
function unprivilegedUser(): string[] {
  if (process.getuid?.() !== 0) return [];
  for (const user of ['postgres', 'nobody']) {
    if (spawnSync('id', ['-u', user]).status === 0) return ['-u', user];
  }
  throw new Error('running as root, and neither user postgres nor nobody exists for pgbouncer to switch to');
}

/**
 * Starts pgbouncer in front of `upstream`, serving the database under the same name on a free loopback port.
 *
 * @example
 * const bouncer = await startPgbouncer(bin, dir, db.direct, log);
 * await runPgbench({ target: bouncer.target, … }); await bouncer.stop();
 */
export async function startPgbouncer(bin: string, dir: string, upstream: PgTarget, log: (line: string) => void): Promise<Pgbouncer> {
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'pgbouncer-users.txt');
  // trust: no client password, but the user must be listed in auth_file; its password there (if any) is the one
  // pgbouncer logs in to the server with, as the gateway would with its own. Kept out of the ini, whose lines
  // pgbouncer quotes in its errors. auth_file quoting: "…" with " doubled.
  const quoted = (v: string) => `"${v.replace(/"/g, '""')}"`;
  writeFileSync(users, `${quoted(upstream.user)} ${quoted(upstream.password ?? '')}\n`, { mode: 0o600 });
  writeFileSync(
    ini,
    `[databases]
${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database} user=${upstream.user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${users}
pool_mode = session
max_client_conn = 100
default_pool_size = 20
logfile =
pidfile =
log_connections = 0
log_disconnections = 0
`,
    { mode: 0o600 },
  );
  const version = (spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.trim() ?? 'pgbouncer';
  const child = spawn(bin, [...unprivilegedUser(), ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  adopt(child);
  const life = exitOf(child);
  child.once('error', (e) => log(`[pgbouncer] could not start: ${e.message}`));
  // Its routine LOG lines are noise here; warnings and errors are not.
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (!/ LOG /.test(line)) log(`[pgbouncer] ${line}`);
    });
  }
  try {
    await waitForPort('127.0.0.1', port, 10_000, life.exited, 'pgbouncer');
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    pid: child.pid!,
    target: { host: '127.0.0.1', port, user: upstream.user, database: upstream.database },
    version,
    exited: life.exited,
    // SIGTERM: pgbouncer's immediate shutdown (the runs are over); SIGKILL if it lingers.
    stop: () => life.stop(),
  };
}
