/**
 * A gateway whose config lives in a YAML file, as an operator has it: the
 * same file starts the gateway (again and again, on the same store and keys)
 * and drives the real `countersign` CLI against its store.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCliInProcess, type CliEnded } from './cli-in-process.ts';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, type TestGateway, type TestPrincipal } from './gateway.ts';
import { releaseTestStore, sqliteOnly, storeYaml } from './test-store.ts';

export interface GatewayConfigFile {
  readonly dir: string;
  /** The YAML file the CLI reads. */
  readonly configPath: string;
  readonly dbPath: string;
  readonly keyDir: string;
  readonly keys: Record<string, string>;
  readonly origin: string;
  /** Starts the gateway on this config; stopping it leaves the store and keys in place. */
  start(): Promise<TestGateway>;
  /** A copy of the config that names another SQLite file (same keys, same origin). SQLite only. */
  withStore(dbPath: string): string;
  /** Removes the directory and drops the store's database (stop the gateway first). */
  remove(): Promise<void>;
}

/**
 * Writes the config of a test gateway to a file. `body` holds connections and
 * policy; `checkpoint` sets when the gateway signs on its own (default: only at shutdown);
 * `principals` replaces the default ones, `audit` adds to the audit section.
 *
 * @example
 * const cfg = await writeGatewayConfig(body, { origin: 'countersign.test/e2e' }); const gw = await cfg.start();
 */
export async function writeGatewayConfig(
  body: string,
  opts: { origin?: string; checkpoint?: { events: number; seconds: number }; principals?: TestPrincipal[]; audit?: string } = {},
): Promise<GatewayConfigFile> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-audit-'));
  const dbPath = join(dir, 'countersign.db');
  const keyDir = join(dir, 'keys');
  const keys: Record<string, string> = {};
  const origin = opts.origin ?? 'countersign.test/e2e';
  const { events, seconds } = opts.checkpoint ?? { events: 1_000_000, seconds: 86_400 };
  const base = configYaml(opts.principals ?? DEFAULT_PRINCIPALS, keys, body, dbPath);
  const audit = `audit: { keyDir: ${JSON.stringify(keyDir)}, origin: ${JSON.stringify(origin)}, checkpoint: { events: ${events}, seconds: ${seconds} }${opts.audit ? `, ${opts.audit}` : ''} }`;
  const sqliteYaml = base.replace(/^audit: .*$/m, audit);
  if (sqliteYaml === base) throw new Error('configYaml no longer writes an audit line this helper can replace');
  const yaml = await storeYaml(sqliteYaml);
  const configPath = join(dir, 'countersign.yaml');
  writeFileSync(configPath, yaml);
  let copies = 0;
  return {
    dir,
    configPath,
    dbPath,
    keyDir,
    keys,
    origin,
    start: () => startTestGateway(yaml, { dir, keys }),
    withStore(other) {
      sqliteOnly('a copy of the config naming another SQLite file');
      const path = join(dir, `store-${++copies}.yaml`);
      writeFileSync(path, yaml.replace(JSON.stringify(dbPath), JSON.stringify(other)));
      return path;
    },
    async remove() {
      await releaseTestStore(dbPath);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const BIN = resolve('bin/countersign.js');

/** Runs the real CLI in `cwd` (with `env` added to this process's); resolves with its exit code and output. */
export function runCli(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, COUNTERSIGN_URL: '', COUNTERSIGN_KEY: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.once('error', fail);
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * The same command run inside this process (cli-in-process.ts), with `env` added to this process's and no
 * COUNTERSIGN_URL or COUNTERSIGN_KEY, as runCli gives it. Paths in `args` are absolute: it runs where the worker does.
 */
export function runCliHere(args: readonly string[], env: Record<string, string> = {}): Promise<CliEnded> {
  return startCliInProcess(args, { ...process.env, COUNTERSIGN_URL: '', COUNTERSIGN_KEY: '', ...env }).done;
}
