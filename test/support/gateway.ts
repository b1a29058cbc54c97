/**
 * Starts the real gateway on a random port with a throwaway store (a SQLite
 * file, or a PostgreSQL database under COUNTERSIGN_TEST_STORE=postgres: see
 * test-store.ts) and principals whose keys are made fresh for the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino, { type Logger } from 'pino';
import { generateApiKey, hashApiKey } from '../../src/adapters/identity/api-keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/core/ports.ts';
import { LONG_SQL_TIME_LIMIT_MS, sqlOffload } from '../../src/adapters/executor/sql/analysis-offload.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { releaseTestStore, storeYaml, testStoreKind, type TestStoreKind } from './test-store.ts';

export interface TestPrincipal {
  id: string;
  kind: 'agent' | 'human';
  actsFor?: string;
  groups?: string[];
  email?: string;
  /** Roles of a human (`auditor`, `admin`). */
  roles?: ('auditor' | 'admin')[];
  /** The token issuers that may name this principal (`issuers:`). */
  issuers?: string[];
}

export interface TestGateway extends Gateway {
  keys: Record<string, string>;
  dir: string;
  /** The SQLite file; on PostgreSQL, the key of its database (no file is made). */
  dbPath: string;
  /** Which store the gateway runs on. */
  storeKind: TestStoreKind;
  /** The config the gateway runs, as YAML (its secrets as `${VAR}`, expanded from `env`). */
  yaml: string;
  /** fetch against the gateway as a principal. */
  as(id: string, path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export const DEFAULT_PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', actsFor: 'carol' },
  { id: 'other-bot', kind: 'agent' },
  { id: 'alice', kind: 'human', groups: ['sre'] },
  { id: 'bob', kind: 'human', groups: ['sre'] },
  { id: 'carol', kind: 'human', groups: ['sre', 'dev'] },
  { id: 'dave', kind: 'human', groups: ['dev'] },
];

/**
 * `principals` with an email for each human: where humans sign in through an identity provider, the config check
 * asks for it (each sign-in must be known as the configured human, never as a second person).
 */
export function withHumanEmails(principals: TestPrincipal[]): TestPrincipal[] {
  return principals.map((p) => (p.kind === 'human' && !p.email ? { ...p, email: `${p.id}@example.com` } : p));
}

/** Builds the YAML of a config; `body` holds connections and policy. */
export function configYaml(principals: TestPrincipal[], keys: Record<string, string>, body: string, dbPath: string, audit = '', server = ''): string {
  const ps = principals
    .map((p) => {
      // A principal keeps the key `keys` already holds for it (a restart on the same map keeps every agent's key, as an
      // operator's restart does); a new one gets a new key.
      const given = keys[p.id];
      const hash = given === undefined ? generateApiKey() : { key: given, hash: hashApiKey(given) };
      keys[p.id] = hash.key;
      return [
        `  - id: ${p.id}`,
        `    kind: ${p.kind}`,
        ...(p.actsFor ? [`    actsFor: ${p.actsFor}`] : []),
        ...(p.email ? [`    email: ${p.email}`] : []),
        `    groups: [${(p.groups ?? []).join(', ')}]`,
        ...(p.roles?.length ? [`    roles: [${p.roles.join(', ')}]`] : []),
        ...(p.issuers?.length ? [`    issuers: [${p.issuers.map((i) => JSON.stringify(i)).join(', ')}]`] : []),
        `    apiKeys: ["${hash.hash}"]`,
      ].join('\n');
    })
    .join('\n');
  const keyDir = join(dirname(dbPath), 'keys');
  return `server: { port: 0${server ? `, ${server}` : ''} }\nstore: { sqlite: { path: ${JSON.stringify(dbPath)} } }\naudit: { keyDir: ${JSON.stringify(keyDir)}${audit ? `, ${audit}` : ''} }\nlog: { level: silent }\nprincipals:\n${ps}\n${body}`;
}

export async function startTestGateway(
  body: string,
  opts: {
    principals?: TestPrincipal[];
    env?: NodeJS.ProcessEnv;
    clock?: Clock;
    dir?: string;
    keys?: Record<string, string>;
    /**
     * Without `keys`: the keys of an earlier gateway on the same store, which its principals keep (a restart, as an
     * operator's keeps every key; a request runs only while the key that asked for it is configured).
     */
    priorKeys?: Record<string, string>;
    /** Extra entries of the `audit:` map, as YAML. */
    audit?: string;
    /** Extra entries of the `server:` map, as YAML (`postgres: { port: 0 }`). */
    server?: string;
    /** Where the gateway logs (default: nowhere). */
    logger?: Logger;
  } = {},
): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cs-test-'));
  const dbPath = join(dir, 'countersign.db');
  const keys: Record<string, string> = opts.keys ?? { ...opts.priorKeys };
  // A config refused (what some tests assert) leaves no directory behind.
  const dropDir = () => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  let yaml: string;
  let config: ReturnType<typeof parseConfig>;
  try {
    yaml = await storeYaml(opts.keys ? body : configYaml(opts.principals ?? DEFAULT_PRINCIPALS, keys, body, dbPath, opts.audit, opts.server));
    config = parseConfig(yaml, 'test.yaml', { ...process.env, ...opts.env });
  } catch (e) {
    dropDir();
    throw e;
  }
  // A store of its own goes with the gateway; a shared one (`dir` given) stays for the next gateway on it.
  const release = async () => {
    if (!opts.dir) await releaseTestStore(dbPath);
  };
  const gw = await startGateway(config, { logger: opts.logger ?? pino({ level: 'silent' }), ...(opts.clock ? { clock: opts.clock } : {}), sweepMs: 100 }).catch(async (e: unknown) => {
    // A gateway that refused to start (what some tests assert) leaves no directory behind either.
    await release();
    dropDir();
    throw e;
  });
  return {
    ...gw,
    keys,
    dir,
    dbPath,
    storeKind: testStoreKind(),
    yaml,
    async as(id, path, init = {}) {
      const res = await fetch(`${gw.url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${keys[id]}`, 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      await gw.close();
      // The analysis thread's time limit (server.sqlAnalysisSeconds) is the process's: the files that share this
      // worker's modules next start from the default again.
      sqlOffload.setTimeLimit(LONG_SQL_TIME_LIMIT_MS);
      await release();
      dropDir();
    },
  };
}

/** Polls until `check` returns a value (for outcomes that land after a response). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
