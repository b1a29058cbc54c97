/**
 * One pgbench run, and what it measured: tps and average latency as pgbench
 * prints them, and the latency percentiles from its per-transaction log
 * (`--log`: one line per transaction with its latency in µs), since pgbench
 * itself prints only the average.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { adopt } from './procs.ts';
import { libpqEnv, type PgTarget } from './bench-database.ts';

export type PgbenchScript = 'select-only' | 'tpcb-like';
export type PgbenchProtocol = 'simple' | 'extended' | 'prepared';

/** Statements a transaction of each built-in script sends (the latency added per statement divides by these). */
export const STATEMENTS_PER_TRANSACTION: Readonly<Record<PgbenchScript, number>> = {
  // SELECT abalance FROM pgbench_accounts WHERE aid = :aid
  'select-only': 1,
  // BEGIN; UPDATE accounts; SELECT abalance; UPDATE tellers; UPDATE branches; INSERT INTO history; END
  'tpcb-like': 7,
};

export interface PgbenchRun {
  readonly target: PgTarget;
  readonly script: PgbenchScript;
  readonly protocol: PgbenchProtocol;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  /** Directory for the per-transaction log; the files are read and removed. */
  readonly logDir: string;
  /** A file-name-safe label for the log. */
  readonly label: string;
}

export interface PgbenchResult {
  /** pgbench's tps, without the initial connection time. */
  readonly tps: number;
  /** pgbench's `latency average`, ms. */
  readonly avgMs: number;
  /** From the per-transaction log, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly transactions: number;
  readonly failed: number;
}

/** `pgbench --version`, e.g. `pgbench (PostgreSQL) 15.20 (…)`, or undefined when pgbench is not installed. */
export function pgbenchVersion(): string | undefined {
  const out = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** The p-th percentile (nearest rank) of ascending `sorted`. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Latencies (µs) from every log file of this run: `<label>.<pid>` and, with threads, `<label>.<pid>.<n>`. */
function readLatencies(dir: string, label: string): Float64Array {
  const values: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${label}.`))) {
    const file = join(dir, f);
    // client_id transaction_no time script_no time_epoch time_us …; `time` is a word for a failed transaction.
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) values.push(us);
    }
    rmSync(file, { force: true });
  }
  return Float64Array.from(values).sort();
}

function number(text: string, re: RegExp, what: string): number {
  const m = re.exec(text);
  if (!m) throw new Error(`pgbench printed no ${what}:\n${text.slice(-1500)}`);
  return Number(m[1]);
}

/**
 * Runs pgbench (`-n`: the caller resets the tables itself, the same way for every target) and waits for it, for at
 * most the run's length plus 60 s. Throws with pgbench's own words when it fails or a client aborted.
 *
 * @example
 * const r = await runPgbench({ target, script: 'select-only', protocol: 'simple', clients: 8, threads: 2, seconds: 10, logDir, label: 'direct-s-8' });
 * r.tps; r.p50Ms;
 */
export function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const args = ['-n', '-b', run.script, '-M', run.protocol, '-c', String(run.clients), '-j', String(run.threads), '-T', String(run.seconds), '--log', `--log-prefix=${join(run.logDir, run.label)}`];
  const child = spawn('pgbench', args, { env: { ...process.env, ...libpqEnv(run.target) }, stdio: ['ignore', 'pipe', 'pipe'] });
  adopt(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise<PgbenchResult>((resolve, reject) => {
    const limitMs = (run.seconds + 60) * 1000;
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', (e) => {
      clearTimeout(killer);
      reject(new Error(`pgbench could not start: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      const latencies = readLatencies(run.logDir, run.label);
      if (code !== 0) {
        const why = signal === 'SIGKILL' ? `did not finish within ${limitMs / 1000} s` : `exited ${code ?? signal}`;
        reject(new Error(`pgbench ${args.slice(0, 9).join(' ')} ${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
        return;
      }
      try {
        resolve({
          tps: number(stdout, /^tps = ([\d.]+) \(without initial connection time\)/m, 'tps'),
          avgMs: number(stdout, /^latency average = ([\d.]+) ms/m, 'average latency'),
          transactions: number(stdout, /^number of transactions actually processed: (\d+)/m, 'transaction count'),
          failed: /^number of failed transactions: (\d+)/m.test(stdout) ? number(stdout, /^number of failed transactions: (\d+)/m, '') : 0,
          p50Ms: percentile(latencies, 50) / 1000,
          p99Ms: percentile(latencies, 99) / 1000,
        });
      } catch (e) {
        reject(e);
      }
    });
  });
}
