/**
 * The config file of a benchmark's gateway: one agent and one human with
 * fresh API keys, an `http` connection to the bench upstream carrying the
 * secret `${UPSTREAM_TOKEN}`, and a policy that allows GET and holds POST for
 * approval (ttl 1h). The store is the caller's (a SQLite file or a PostgreSQL
 * URL), so the same gateway can be measured on both.
 */
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';

/** The connection the config names, for the actions' bodies. */
export const BENCH_CONNECTION = 'bench-api';

export interface BenchConfigOptions {
  /** YAML of the `store` key, e.g. `{ sqlite: { path: "/tmp/x/countersign.db" } }`. */
  readonly store: string;
  readonly keyDir: string;
  readonly upstreamUrl: string;
  readonly agentKeyHash: string;
  readonly humanKeyHash: string;
  /** server.workers; the config's default (1) when absent. */
  readonly workers?: number;
  /** log.level (warn by default). */
  readonly logLevel?: string;
  /** YAML put before the rest, e.g. an `identity:` section. */
  readonly prefix?: string;
}

/** A fresh agent key and human key: the plaintext for the bench's headers, the hash for the config. */
export function benchKeys(): { agent: { key: string; hash: string }; human: { key: string; hash: string } } {
  return { agent: generateApiKey(), human: generateApiKey() };
}

/** YAML for a SQLite store in `dir` (WAL; `synchronous` normal unless asked). */
export function sqliteStore(path: string, synchronous: 'normal' | 'full' = 'normal'): string {
  return `{ sqlite: { path: ${JSON.stringify(path)}, synchronous: ${synchronous} } }`;
}

/** YAML for a PostgreSQL store at `url`. */
export function postgresStore(url: string, poolSize = 10): string {
  return `{ postgres: { url: ${JSON.stringify(url)}, poolSize: ${poolSize} } }`;
}

/**
 * @example
 * writeFileSync(file, benchConfigYaml({ store: sqliteStore(db), keyDir, upstreamUrl, agentKeyHash, humanKeyHash }));
 */
export function benchConfigYaml(o: BenchConfigOptions): string {
  const workers = o.workers === undefined ? '' : `, workers: ${o.workers}`;
  return `${o.prefix ?? ''}server: { port: 0, host: 127.0.0.1${workers}, maxPendingPerPrincipal: 0 }
store: ${o.store}
audit: { keyDir: ${JSON.stringify(o.keyDir)} }
log: { level: ${o.logLevel ?? 'warn'} }
principals:
  - { id: bench-bot, kind: agent, apiKeys: ["${o.agentKeyHash}"] }
  - { id: alice, kind: human, groups: [ops], apiKeys: ["${o.humanKeyHash}"] }
connections:
  - name: ${BENCH_CONNECTION}
    kind: http
    url: ${o.upstreamUrl}
    headers: { Authorization: "Bearer \${UPSTREAM_TOKEN}" }
    tags: { env: bench }
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ principals: [alice], count: 1 }]
      ttl: 1h
`;
}
