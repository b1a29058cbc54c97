/**
 * Countersign as `bench:pgwire` measures it: the compiled build started with
 * the config of pgwire-config.ts, reached by pgbench on its Postgres listener
 * as `bench-bot` (password: its API key) on database `bench-db`. A build whose
 * config has no `server.postgres` has no listener: that is a skip with its
 * reason, not a failure, so the bench runs before and after the listener
 * lands without a change.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, startCompiledGateway } from './compiled-gateway.ts';
import { freePort, waitForPort } from './ports.ts';
import { hasPgwireListener, hasSessionCheckCache, PGWIRE_CONNECTION, PGWIRE_PRINCIPAL, pgwireConfigYaml, pgwireKey } from './pgwire-config.ts';
import type { PgTarget } from './bench-database.ts';

export interface PgwireGateway {
  /** The primary's pid. */
  readonly pid: number;
  /** bench-db as pgbench reaches it through the listener (the password is bench-bot's API key). */
  readonly target: PgTarget;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * The running gateway, or `{ skipped }` when this build has no Postgres listener.
 *
 * @example
 * const gw = await startPgwireGateway(dir, db.url, log);
 * if ('skipped' in gw) log(gw.skipped); else await runPgbench({ target: gw.target, … });
 */
export async function startPgwireGateway(
  dir: string,
  upstreamUrl: string,
  log: (line: string) => void,
  opts: { sessionCheckCache?: boolean } = {},
): Promise<PgwireGateway | { skipped: string }> {
  const key = pgwireKey();
  const port = await freePort();
  const yaml = pgwireConfigYaml({ port, upstreamUrl, dir, agentKeyHash: key.hash, ...opts });
  if (!hasPgwireListener(yaml)) return { skipped: 'no listener (this build has no server.postgres)' };
  // A build without the option refuses the config: a skip, like a build without the listener.
  if (opts.sessionCheckCache && !hasSessionCheckCache(yaml)) return { skipped: 'no sessionCheckCache in this build' };
  buildIfStale(log);
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml, { mode: 0o600 });
  // BENCH_GATEWAY_NODE_ARGS: node flags for the gateway, as in bench:gateway (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const nodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const gw = await startCompiledGateway({ name: opts.sessionCheckCache ? 'countersign-cached' : 'countersign', configFile, workers: 1, env: {}, nodeArgs, log });
  try {
    await waitForPort('127.0.0.1', port, 15_000, () => gw.exited(), 'the Countersign Postgres listener');
  } catch (e) {
    await gw.stop(2000);
    throw e;
  }
  return {
    pid: gw.pid,
    target: { host: '127.0.0.1', port, user: PGWIRE_PRINCIPAL, database: PGWIRE_CONNECTION, password: key.key },
    exited: () => gw.exited(),
    stop: () => gw.stop(),
  };
}
