/**
 * Child processes for the bench: each is `node bin/run-ts.js <file>`, says
 * where it listens as one JSON line on stdout, and is stopped (SIGTERM, then
 * SIGKILL) when the bench ends, whether it ends well or not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/run-ts.js of this checkout, wherever the bench is started from. */
const RUNNER = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url));

export interface Child<T> {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The JSON line the child printed first. */
  readonly ready: T;
  /** Whether the child has exited. */
  exited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Kill every child still running, synchronously (for 'exit' handlers). */
export function killAllChildren(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  live.clear();
}

process.once('exit', killAllChildren);

/** Adds a child started elsewhere to those killAllChildren kills. */
export function adopt(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Follows a child's exit. `stop` sends SIGTERM, then `kill` (SIGKILL to the
 * child by default) if it has not exited within `graceMs`, and waits for the exit.
 *
 * @example
 * const life = exitOf(child);
 * await life.stop(); // life.exited() === true
 */
export function exitOf(child: ChildProcess): { exited(): boolean; stop(graceMs?: number, kill?: () => void): Promise<void> } {
  let exited = false;
  const done = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  return {
    exited: () => exited,
    async stop(graceMs = 5000, kill = () => child.kill('SIGKILL')) {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(kill, graceMs);
      await done;
      clearTimeout(killer);
    },
  };
}

/**
 * @example
 * const up = await spawnTs<{ url: string }>('upstream', '/abs/path/bench/support/upstream.ts', { UPSTREAM_TOKEN: 't' });
 */
export function spawnTs<T>(
  name: string,
  file: string,
  env: Record<string, string>,
  opts: { nodeArgs?: readonly string[]; readyTimeoutMs?: number } = {},
): Promise<Child<T>> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), RUNNER, resolve(file)], {
    env: { ...process.env, ...env },
    // stdin stays open as a lifeline: the child exits when it closes.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  adopt(child);
  const life = exitOf(child);

  return new Promise<Child<T>>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectReady(new Error(`${name}: no ready line within ${opts.readyTimeoutMs ?? 15_000} ms`));
    }, opts.readyTimeoutMs ?? 15_000);
    const lines = createInterface({ input: child.stdout! });
    let first = true;
    lines.on('line', (line) => {
      if (!first) {
        // Later output (the gateway's warn/error logs) goes to our stderr.
        process.stderr.write(`[${name}] ${line}\n`);
        return;
      }
      first = false;
      clearTimeout(timer);
      let ready: T;
      try {
        ready = JSON.parse(line) as T;
      } catch {
        child.kill('SIGKILL');
        rejectReady(new Error(`${name}: first line is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      resolveReady({
        name,
        process: child,
        pid: child.pid!,
        ready,
        exited: life.exited,
        stop: () => life.stop(),
      });
    });
    child.once('exit', (code, signal) => {
      if (first) {
        clearTimeout(timer);
        rejectReady(new Error(`${name}: exited before it was ready (code ${code}, signal ${signal})`));
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      rejectReady(new Error(`${name}: could not start: ${e.message}`));
    });
  });
}
