/**
 * `countersign start` with `server.workers: N` (or --workers N): this process
 * becomes the primary of N worker processes (node:cluster) that each run the
 * gateway on the same port. The primary opens no store and serves nothing:
 * it relays request changes between the workers (so a waiter in one is woken
 * by a review handled in another), gathers every worker's metrics for the
 * worker a scrape reached, restarts a worker that dies, and stops
 * them all on SIGTERM/SIGINT. The first worker starts alone, so one process
 * creates a new store and its keys; the others then join it.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import { relayChanges } from '../adapters/notifier/index.ts';
import type { HeapSettings } from '../config/heap-schema.ts';
import { heapFlags } from './heap.ts';

/** Set by the primary in a worker's environment: the port it listens on, whatever the config or --port say. */
export const WORKER_PORT_ENV = 'COUNTERSIGN_WORKER_PORT';

/** How long workers get to close (a last checkpoint, runs finishing) before they are killed. */
const STOP_GRACE_MS = 15_000;
/** A worker that dies sooner than this after its start is restarted after a growing delay (a crash loop must not spin). */
const STABLE_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/** A worker that ended before it listened, with its exit code. */
class NotStarted extends Error {
  constructor(
    readonly worker: number,
    readonly code: number | null,
    signal: string | null,
  ) {
    super(`worker ${worker} exited (${signal ?? `code ${code}`}) before it listened`);
  }
}

/** What a worker reports on start: where it listens. */
function listening(worker: Worker): Promise<{ address: string | null; port: number }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) => reject(new NotStarted(worker.id, code, signal));
    worker.once('exit', onExit);
    worker.once('listening', (address) => {
      worker.off('exit', onExit);
      resolve({ address: address.address, port: address.port });
    });
  });
}

/** A port free on `host` now (the kernel's pick for port 0). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function urlOf(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h === '0.0.0.0' ? '127.0.0.1' : h}:${port}`;
}

/**
 * Forks `workers` processes running this same command line and supervises
 * them until a signal; never returns. Exits with the first worker's exit
 * code when it cannot start (its own error is on stderr), 0 after a clean stop.
 *
 * @example
 * if (cluster.isPrimary && config.server.workers > 1) await runPrimary(config.server.workers, { logger, host: config.server.host, port, configFile, metrics: true });
 */
export async function runPrimary(workers: number, opts: { logger: Logger; host: string; port: number; configFile: string; metrics?: boolean; heap?: HeapSettings }): Promise<never> {
  const { logger } = opts;
  // Workers start with the heap settings as node flags (after the primary's own, which they would otherwise inherit as they are).
  if (opts.heap) cluster.setupPrimary({ execArgv: [...process.execArgv, ...heapFlags(opts.heap)] });
  const stopRelay = relayChanges(cluster);
  // Loaded only when on: prom-client is otherwise none of the primary's business.
  if (opts.metrics) (await import('../adapters/metrics/cluster.ts')).aggregateWorkerMetrics();
  let stopping = false;
  let started = false;
  let restartDelay = 500;
  const startedAt = new Map<number, number>();

  // Port 0 (pick one): chosen here once, or a worker started later (a restart) would be given another port.
  const port = opts.port === 0 ? await freePort(opts.host) : opts.port;
  const fork = () => {
    const w = cluster.fork({ [WORKER_PORT_ENV]: String(port) });
    startedAt.set(w.id, Date.now());
    return w;
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    // The first worker failing says the config or the store is wrong: the primary stops with its error instead.
    if (stopping || !started) return;
    restartDelay = lived >= STABLE_MS ? 500 : Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: restartDelay }, 'a gateway worker died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelay).unref();
  });

  const stop = async (): Promise<never> => {
    if (stopping) return new Promise<never>(() => {});
    stopping = true;
    const all = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = all.map((w) => (w.isDead() ? Promise.resolve() : new Promise<void>((r) => w.once('exit', () => r()))));
    for (const w of all) w.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const w of all) if (!w.isDead()) w.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(exited);
    clearTimeout(timer);
    stopRelay();
    process.exit(0);
  };
  // Ctrl-C reaches the workers too (one process group); they stop once either way.
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  let first: { address: string | null; port: number };
  try {
    first = await listening(fork());
  } catch (e) {
    // Stopped by a signal while it started: stop() exits.
    if (stopping) return new Promise<never>(() => {});
    // Its own error is on stderr already (a bad config, another config's store, a port in use); same exit code.
    stopping = true;
    stopRelay();
    process.exit(e instanceof NotStarted && e.code ? e.code : 1);
  }
  started = true;
  const rest = Array.from({ length: workers - 1 }, () => listening(fork()));
  const results = await Promise.allSettled(rest);
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed) logger.error({ failed }, 'some gateway workers did not start; they are restarted');
  process.stderr.write(`Countersign is running at ${urlOf(opts.host, first.port)} (config ${opts.configFile}, ${workers} workers)\n`);
  return new Promise<never>(() => {});
}
