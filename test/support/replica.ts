/**
 * Gateway replicas as separate processes started from one config file, the
 * way a deployment runs them behind a load balancer: each can be stopped,
 * killed with SIGKILL mid-flight, or started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { call, type CallResult } from './shared-gateway.ts';

/** Runs the compiled gateway in dist/ (built from the current sources by the tests' global setup). */
const CHILD_MAIN = fileURLToPath(new URL('./gateway-child.js', import.meta.url));

export interface Replica {
  readonly url: string;
  readonly pid: number;
  as(key: string | undefined, path: string, init?: { method?: string; body?: unknown }): Promise<CallResult>;
  /** SIGKILL: the process dies with whatever it was doing. */
  kill(): Promise<void>;
  /** SIGTERM: the gateway closes itself. */
  stop(): Promise<void>;
}

/**
 * @example
 * const a = await startReplica('/tmp/x/countersign.yaml'); const b = await startReplica('/tmp/x/countersign.yaml');
 */
export async function startReplica(configFile: string, env: NodeJS.ProcessEnv = {}, opts: { host?: string } = {}): Promise<Replica> {
  // `host`: the replica runs under a host name of its own (a UTS namespace, as root), as on another machine.
  const [command, args] = opts.host
    ? ['unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$1" "$2" "$3"', opts.host, process.execPath, CHILD_MAIN, configFile]]
    : [process.execPath, [CHILD_MAIN, configFile]];
  const child: ChildProcess = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the replica did not start within 60 s'));
    }, 60_000);
    let first = true;
    lines.on('line', (l) => {
      if (!first) {
        // Later lines are the gateway's own log (when the config asks for one).
        process.stderr.write(`[replica ${child.pid}] ${l}\n`);
        return;
      }
      first = false;
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the replica exited with ${code} before it was ready`));
    });
  });
  const { url, pid } = JSON.parse(line) as { url: string; pid: number };
  let gone = false;
  return {
    url,
    pid,
    as: (key, path, init) => call(url, key, path, init),
    async kill() {
      if (gone) return;
      gone = true;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone) return;
      gone = true;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * One `principals:` line of a replicas' config file with a new API key, kept in `keys` under the principal's id.
 *
 * @example
 * const yaml = `principals:\n${principalLine(keys, 'alice', 'human', ', groups: [sre]')}`;
 */
export function principalLine(keys: Record<string, string>, id: string, kind: 'agent' | 'human', extra: string): string {
  const k = generateApiKey();
  keys[id] = k.key;
  return `  - { id: ${id}, kind: ${kind}, apiKeys: ["${k.hash}"]${extra} }`;
}
