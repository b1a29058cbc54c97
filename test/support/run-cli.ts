/**
 * `countersign run` and the other commands an agent or a reviewer types: run inside
 * the test process on pipes (cli-in-process.ts: the same program and command code,
 * stdin, stdout and stderr not terminals); as a process of the compiled CLI where the
 * test sends it a signal (spawn), or under util-linux `script`, which gives it a
 * pseudo-terminal (onTty). Its environment names the gateway and the agent's key and
 * inherits nothing that could stand in for them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { startCliInProcess, type CliRunning } from './cli-in-process.ts';
import { eventually, type TestGateway } from './gateway.ts';

const BIN = resolve('bin/countersign.js');

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A spawned CLI process. */
export interface Running {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<Ended>;
}

export interface RunOptions {
  /** The bearer; undefined: the default key; '': none at all. */
  key?: string;
  stdin?: string;
  env?: Record<string, string>;
}

/** Whether util-linux `script` is here (BSD `script` takes other flags). */
export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') ?? false;

function collect(child: ChildProcess): Running {
  const r = { child, stdout: '', stderr: '' } as Running & { stdout: string; stderr: string };
  child.stdout!.on('data', (d: Buffer) => (r.stdout += d));
  child.stderr!.on('data', (d: Buffer) => (r.stderr += d));
  r.done = new Promise((done) => child.on('close', (code, signal) => done({ code, signal, stdout: r.stdout, stderr: r.stderr })));
  return r;
}

/**
 * @example
 * const cli = runCli({ url: gw.url, key: gw.keys['deploy-bot']!, credentials: join(dir, 'none.json') });
 * const r = await cli.run(['orders-db', '--sql', 'select 1', '--reason', 'check']);
 */
export function runCli(target: { url: string; key: string; credentials: string }) {
  const env = (key: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, COUNTERSIGN_URL: target.url, COUNTERSIGN_CREDENTIALS: target.credentials };
    delete e['COUNTERSIGN_KEY'];
    delete e['COUNTERSIGN_REASON'];
    if (key) e['COUNTERSIGN_KEY'] = key;
    return { ...e, ...extra };
  };
  /** Any `countersign` command on pipes, in this process. */
  const command = (args: string[], o: RunOptions = {}): CliRunning => startCliInProcess(args, env(o.key ?? target.key, o.env), o.stdin ?? '');
  const start = (args: string[], o: RunOptions = {}): CliRunning => command(['run', ...args], o);
  return {
    command,
    /** `countersign run …`, still running. */
    start,
    /** `countersign run …` to its end. */
    run: (args: string[], o: RunOptions = {}) => start(args, o).done,
    /** `countersign run …` as a process on pipes, still running: for a test that sends it a signal. */
    spawn(args: string[], o: RunOptions = {}): Running {
      const child = spawn(process.execPath, [BIN, 'run', ...args], { env: env(o.key ?? target.key, o.env), stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdin!.end(o.stdin ?? '');
      return collect(child);
    },
    /** `countersign run …` on a terminal: what it wrote to it (stdout and stderr both) comes back as stdout. */
    onTty(args: string[]): Promise<Ended> {
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const cmd = [process.execPath, BIN, 'run', ...args].map(quote).join(' ');
      return collect(spawn('script', ['-qfec', cmd, '/dev/null'], { env: env(target.key), stdio: ['pipe', 'pipe', 'pipe'] })).done;
    },
  };
}

export type RunCli = ReturnType<typeof runCli>;

/** Waits for the held line on stderr and for the gateway to show the request pending (to a reviewer); returns its id. */
export async function heldId(r: { readonly stderr: string }, gw: TestGateway, reviewer = 'alice'): Promise<string> {
  const id = await eventually(async () => /held for approval as request (req_[A-Za-z0-9_-]+)/.exec(r.stderr)?.[1], 30_000);
  const seen = await eventually(async () => {
    const v = await gw.as(reviewer, `/v1/requests/${id}`);
    return v.body.status === 'pending' ? v.body : undefined;
  }, 30_000);
  expect(seen.principal.id).toBe('deploy-bot');
  return id;
}
