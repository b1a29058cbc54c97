/**
 * `countersign start`: run the gateway from a config; without one (and with
 * --demo-if-missing, as `npm start` passes) run the demo: a generated config,
 * a local billing API, and printed next steps.
 */
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from 'pino';
import { createLogger } from '../adapters/logger.ts';
import { heldSecrets } from '../config/held-secrets.ts';
import type { Gateway } from '../main.ts';
import { exitOnCrash } from './crash.ts';
import { DEFAULT_CONFIG, DEMO_CONFIG, DEMO_DIR } from './config-path.ts';
import { DEMO_PRINCIPALS, ensureDemoConfig } from './demo/config.ts';
import { UsageError } from './requests.ts';
import { startDemoApi } from './demo/upstream.ts';
import { runPrimary, WORKER_PORT_ENV } from './workers.ts';
import { applyHeapSettings } from './heap.ts';

function banner(gw: Gateway, keys: Record<string, string> | null): string {
  const k = (id: string) => (keys ? keys[id] : `<${id}'s key>`);
  const lines = [
    '',
    `Countersign is running at ${gw.url}  (demo config ${DEMO_CONFIG}; its state and audit in ${DEMO_DIR}/)`,
    '',
  ];
  if (keys) {
    lines.push('Demo principals — their API keys are shown this once and stored only hashed:');
    for (const p of DEMO_PRINCIPALS) lines.push(`  ${p.id.padEnd(11)} ${keys[p.id]}   ${p.note}`);
  } else {
    lines.push('Demo principals: deploy-bot (agent, acts for carol), alice and bob (sre reviewers), carol.');
    lines.push('Their keys were printed when this demo was first set up. Lost them? `npx countersign demo reset`, then `npm start`.');
  }
  const url = gw.url === 'http://127.0.0.1:8700' ? '' : `COUNTERSIGN_URL=${gw.url} `;
  lines.push(
    '',
    'Try it, in another terminal:',
    `  1. Play the agent:        ${url}COUNTERSIGN_KEY=${k('deploy-bot')} npm run demo:agent`,
    `  2. See what awaits you:   ${url}COUNTERSIGN_KEY=${k('alice')} npx countersign requests list`,
    `  3. Approve it:            ${url}COUNTERSIGN_KEY=${k('alice')} npx countersign requests approve <request id>`,
    `     or in the browser:     open ${gw.url}/ and sign in with alice's key`,
    `  4. Check the audit trail: npx countersign audit verify --config ${DEMO_CONFIG}`,
    '',
    'Your own setup: copy examples/countersign.yaml to ./countersign.yaml and edit it (its state goes to ./.countersign/, not the demo\'s). Stop with Ctrl-C.',
    '',
  );
  return lines.join('\n');
}

/**
 * Sizes the heap of the process that serves (server.heap), and says so when the young generation had already
 * outgrown the setting (the CLI run other than through bin/countersign.js, or a module preloaded with --import).
 */
function sizeHeap(config: Config, logger: Logger): void {
  const { outgrownBytes } = applyHeapSettings(config.server.heap);
  if (outgrownBytes > 0) {
    const { maxSemiSpaceMb } = config.server.heap;
    logger.warn({ maxSemiSpaceMb, youngGenerationMb: outgrownBytes / (1024 * 1024) }, `server.heap.maxSemiSpaceMb: the young generation had outgrown it before the config was read; start node with --max-semi-space-size=${maxSemiSpaceMb} to hold it`);
  }
}

/** The exit code of a process a signal stopped before its gateway had started (128 + the signal's number, as a shell reports it). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Listens for SIGINT and SIGTERM (and, in a worker, for its primary going)
 * from before the gateway starts, so that a supervisor stopping the process
 * the moment it reads "running" gets a clean close, never death by Node's
 * default handler. A signal while the gateway is still starting (a store
 * that does not answer) ends the process at once, as the default would;
 * once `started()` is called, it resolves `stop` instead.
 */
function stopRequested(): { stop: Promise<void>; started: () => void } {
  let running = false;
  let resolve!: () => void;
  const stop = new Promise<void>((r) => (resolve = r));
  const on = (signal: keyof typeof SIGNAL_EXIT) => () => {
    if (running) resolve();
    else process.exit(SIGNAL_EXIT[signal]);
  };
  // `on`, not `once`: a second signal while closing (Ctrl-C reaches a worker and its primary forwards SIGTERM) must not kill it mid-close.
  process.on('SIGINT', on('SIGINT'));
  process.on('SIGTERM', on('SIGTERM'));
  // A worker whose primary is gone stops too.
  if (cluster.isWorker) process.on('disconnect', () => (running ? resolve() : process.exit(1)));
  return { stop, started: () => (running = true) };
}

async function runUntil(stop: Promise<void>, gw: Gateway, logger: Logger, extra: () => Promise<void> = async () => {}): Promise<never> {
  exitOnCrash(logger, async () => {
    await gw.close();
    await extra();
  });
  await stop;
  await gw.close();
  await extra();
  process.exit(0);
}

export interface StartCommandOptions {
  config?: string;
  demoIfMissing?: boolean;
  /** Overrides server.workers. */
  workers?: number;
  /** Overrides server.port (as PORT does): two replicas from one config file. */
  port?: number;
}

export async function startCommand(opts: StartCommandOptions): Promise<void> {
  const path = opts.config ?? DEFAULT_CONFIG;
  if (opts.config || existsSync(DEFAULT_CONFIG) || !opts.demoIfMissing) {
    const port = (cluster.isWorker ? process.env[WORKER_PORT_ENV] : undefined) ?? (opts.port === undefined ? undefined : String(opts.port));
    const loaded = loadConfig(path, port === undefined ? process.env : { ...process.env, PORT: port });
    const config = opts.workers === undefined ? loaded : { ...loaded, server: { ...loaded.server, workers: opts.workers } };
    const logger = createLogger(config.log.level, 1, heldSecrets(config));
    if (cluster.isPrimary && config.server.workers > 1) await runPrimary(config.server.workers, { logger, host: config.server.host, port: config.server.port, configFile: path, metrics: config.metrics.enabled, heap: config.server.heap });
    // Before the gateway's modules load: the process that serves sizes its own heap (a worker was started with it).
    sizeHeap(config, logger);
    const signals = stopRequested();
    // Loaded here, not at the top: a primary of workers never serves, and so never holds the gateway's modules.
    const { startGateway } = await import('../main.ts');
    const gw = await startGateway(config, { configFile: path, logger });
    signals.started();
    // A worker's primary says where the gateway runs, once for all.
    if (cluster.isPrimary) {
      const pg = gw.postgresPort === undefined ? '' : `; Postgres clients connect to ${config.server.postgres?.host ?? '127.0.0.1'}:${gw.postgresPort}`;
      process.stderr.write(`Countersign is running at ${gw.url} (config ${path})${pg}\n`);
    }
    await runUntil(signals.stop, gw, logger);
  }
  if (opts.workers !== undefined && opts.workers > 1) throw new UsageError('--workers needs a config file (the demo runs in one process)');

  const signals = stopRequested();
  const keys = ensureDemoConfig(DEMO_CONFIG);
  const token = /Bearer (demo_[A-Za-z0-9_-]+)/.exec(readFileSync(DEMO_CONFIG, 'utf8'))?.[1];
  if (!token) throw new Error(`${DEMO_CONFIG} has no demo token; run \`npx countersign demo reset\``);
  const api = await startDemoApi(token, Number(process.env['COUNTERSIGN_DEMO_API_PORT'] ?? 8701));
  let config: Config;
  try {
    config = loadConfig(DEMO_CONFIG, { ...process.env, COUNTERSIGN_DEMO_API: api.url });
  } catch (e) {
    await api.close();
    throw e;
  }
  const logger = createLogger(config.log.level, 1, heldSecrets(config));
  sizeHeap(config, logger);
  const { startGateway } = await import('../main.ts');
  const gw = await startGateway(config, { configFile: DEMO_CONFIG, logger });
  signals.started();
  process.stdout.write(banner(gw, keys));
  await runUntil(signals.stop, gw, logger, () => api.close());
}
