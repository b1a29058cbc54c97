/**
 * Several gateways on one store (one SQLite file, or one PostgreSQL database
 * under COUNTERSIGN_TEST_STORE=postgres) with one set of keys, the way a restart
 * or a second replica sees it: in this process (startTestGateway with `dir`
 * and `keys`) or in a child process that can be killed mid-flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Clock, Store } from '../../src/core/ports.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openOwnedStore } from '../../src/main-store.ts';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, type TestGateway, type TestPrincipal } from './gateway.ts';
import { releaseTestStore, storeYaml } from './test-store.ts';

export interface CallResult {
  status: number;
  headers: Headers;
  body: any;
}

/** fetch against a gateway with a bearer key (or none); the body is parsed when it is JSON. */
export async function call(url: string, key: string | undefined, path: string, init: { method?: string; body?: unknown } = {}): Promise<CallResult> {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body };
}

export interface ChildGateway {
  url: string;
  pid: number;
  as(id: string, path: string, init?: { method?: string; body?: unknown }): Promise<CallResult>;
  /** SIGKILL: the process dies with whatever it was doing, like a crash. */
  kill(): Promise<void>;
  /** SIGTERM: the gateway closes itself. */
  stop(): Promise<void>;
}

export interface SharedGateway {
  dir: string;
  dbPath: string;
  keys: Record<string, string>;
  /** The whole YAML for a `connections:`/`policy:` body, with the shared principals and store (as a SQLite path: see storeYaml). */
  yaml(body: string): string;
  /** A gateway in this process. */
  start(body: string, opts?: { env?: NodeJS.ProcessEnv; clock?: Clock }): Promise<TestGateway>;
  /** A gateway in a child process (the compiled gateway: gateway-child.js), started from the same YAML. */
  spawn(body: string, env?: NodeJS.ProcessEnv): Promise<ChildGateway>;
  /** Runs `fn` on the shared store, opened beside the gateways through the composition root (either store), and closes it. */
  read<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** Removes the directory and drops the store's database (stop every gateway first). */
  remove(): Promise<void>;
}

/** Runs the compiled gateway in dist/ (built from the current sources by the tests' global setup). */
const CHILD_MAIN = fileURLToPath(new URL('./gateway-child.js', import.meta.url));

/**
 * @example
 * const shared = prepareSharedGateway({ server: { bodyLimitBytes: 1024 } });
 * const a = await shared.start(body); const b = await shared.start(body); // same file, same keys
 */
export function prepareSharedGateway(opts: { principals?: TestPrincipal[]; server?: Record<string, string | number | Record<string, number>> } = {}): SharedGateway {
  const dir = mkdtempSync(join(tmpdir(), 'cs-shared-'));
  const dbPath = join(dir, 'countersign.db');
  const keys: Record<string, string> = {};
  const server = { port: 0, ...opts.server };
  const serverLine = `server: { ${Object.entries(server)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')} }`;
  const base = configYaml(opts.principals ?? DEFAULT_PRINCIPALS, keys, '', dbPath).replace(/^server: \{ port: 0 \}/, serverLine);
  let seq = 0;
  const shared: SharedGateway = {
    dir,
    dbPath,
    keys,
    yaml: (body) => `${base}${body}`,
    start: (body, o = {}) => startTestGateway(shared.yaml(body), { dir, keys, ...o }),
    async spawn(body, env = {}) {
      const file = join(dir, `child-${++seq}.yaml`);
      writeFileSync(file, await storeYaml(shared.yaml(body)));
      const child = spawn(process.execPath, [CHILD_MAIN, file], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
      const ready = await firstLine(child);
      const { url, pid } = JSON.parse(ready) as { url: string; pid: number };
      const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      return {
        url,
        pid,
        as: (id, path, init) => call(url, keys[id], path, init),
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
    async read(fn) {
      const store = await openOwnedStore(parseConfig(await storeYaml(shared.yaml('')), 'shared.yaml', process.env), undefined, { claim: false, mustExist: true });
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    },
    async remove() {
      await releaseTestStore(dbPath);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return shared;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the child gateway did not start within 30 s'));
    }, 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child gateway exited with ${code} before it was ready`));
    });
  });
}
