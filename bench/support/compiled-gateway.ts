/**
 * The gateway under test as a user runs it: the compiled build, started with
 * `node bin/countersign.js start --config <file>` (with `server.workers: N`,
 * a cluster primary and N workers). dist/ is rebuilt first when the sources
 * changed since it was built, so the bench never measures stale code.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adopt, exitOf } from './procs.ts';
import { isAlive, processTree } from './proc-tree.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `node bin/build.js --if-stale` (with the type check unless asked not to); throws when it fails. */
export function buildIfStale(log: (line: string) => void, opts: { check?: boolean } = {}): void {
  const started = performance.now();
  const args = ['bin/build.js', '--if-stale', ...(opts.check === false ? ['--no-check'] : [])];
  const out = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (out.status !== 0) throw new Error(`building dist/ failed (exit ${out.status ?? out.signal})`);
  log(`bench: dist/ is up to date (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

export interface CompiledGateway {
  readonly url: string;
  /** The primary's pid (the only process with `workers: 1`). */
  readonly pid: number;
  /** The primary and its workers, as found once the gateway was ready. */
  readonly pids: readonly number[];
  exited(): boolean;
  /** SIGTERM (the primary stops its workers), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * @example
 * const gw = await startCompiledGateway({ name: 'sqlite-w2', configFile, workers: 2, env: { UPSTREAM_TOKEN } });
 * gw.url; gw.pids; await gw.stop();
 */
export function startCompiledGateway(opts: {
  name: string;
  configFile: string;
  /** How many processes to wait for: the primary plus `workers` when workers > 1. */
  workers: number;
  env: Record<string, string>;
  /** A module for `node --import` (the phase profiler). */
  preload?: string;
  /** More node flags, before the script (e.g. --heap-prof). */
  nodeArgs?: readonly string[];
  log: (line: string) => void;
  readyTimeoutMs?: number;
}): Promise<CompiledGateway> {
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(opts.preload ? ['--import', pathToFileURL(opts.preload).href] : [])];
  const child = spawn(process.execPath, [...nodeArgs, 'bin/countersign.js', 'start', '--config', opts.configFile], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  adopt(child);
  const life = exitOf(child);
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  return new Promise<CompiledGateway>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name}: not running within ${timeoutMs} ms`));
    }, timeoutMs);
    const forward = (line: string) => {
      const m = /Countersign is running at (http:\/\/\S+)/.exec(line);
      if (!ready && m) {
        ready = true;
        clearTimeout(timer);
        const pids = processTree(child.pid!);
        const expected = opts.workers > 1 ? opts.workers + 1 : 1;
        if (pids.length !== expected) {
          child.kill('SIGKILL');
          reject(new Error(`${opts.name}: expected ${expected} processes, found ${pids.length} (${pids.join(', ')})`));
          return;
        }
        resolve({
          url: m[1]!,
          pid: child.pid!,
          pids,
          exited: () => life.exited() || !pids.every(isAlive),
          // A primary's workers are killed with it if it lingers.
          stop: (graceMs = 20_000) =>
            life.stop(graceMs, () => {
              for (const p of pids) {
                try {
                  process.kill(p, 'SIGKILL');
                } catch {
                  // already gone
                }
              }
            }),
        });
        return;
      }
      opts.log(`[${opts.name}] ${line}`);
    };
    createInterface({ input: child.stdout! }).on('line', forward);
    createInterface({ input: child.stderr! }).on('line', forward);
    child.once('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${opts.name}: exited before it was running (code ${code}, signal ${signal})`));
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name}: could not start: ${e.message}`));
    });
  });
}
