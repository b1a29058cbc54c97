/**
 * The gateway config of `bench:pgwire`: the Postgres listener on a given
 * port, one `postgres` connection (named as pgbench's database) to the bench
 * database, the agent `bench-bot` with a fresh API key, and a policy under
 * which everything pgbench sends is allowed: reads by one rule, pgbench's
 * TPC-B-like writes (BEGIN/END, UPDATE/INSERT/SELECT on pgbench_* tables) by
 * another. Anything else is denied, so a statement the bench did not expect
 * fails the run instead of being measured.
 */
import { parseConfig } from '../../src/config/load.ts';
import { isCountersignError } from '../../src/core/errors.ts';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';

/** The connection's name: pgbench's database name when it connects through the listener. */
export const PGWIRE_CONNECTION = 'bench-db';
/** The principal pgbench connects as (its user name). */
export const PGWIRE_PRINCIPAL = 'bench-bot';

export interface PgwireConfigOptions {
  /** The Postgres listener's port. */
  readonly port: number;
  /** postgres:// URL of the bench database (the upstream). */
  readonly upstreamUrl: string;
  readonly dir: string;
  readonly agentKeyHash: string;
  /** The connection's `sessionCheckCache` (the bench database has the DDL counter's triggers, `installDdlEpochSql`). */
  readonly sessionCheckCache?: boolean;
}

/** A fresh key for bench-bot: the plaintext is pgbench's password, the hash goes in the config. */
export function pgwireKey(): { key: string; hash: string } {
  return generateApiKey();
}

/**
 * @example
 * writeFileSync(file, pgwireConfigYaml({ port, upstreamUrl: db.url, dir, agentKeyHash: key.hash }));
 */
export function pgwireConfigYaml(o: PgwireConfigOptions): string {
  const j = JSON.stringify;
  return `server:
  port: 0
  host: 127.0.0.1
  postgres: { host: 127.0.0.1, port: ${o.port}, holdSeconds: 300 }
store: { sqlite: { path: ${j(`${o.dir}/countersign.db`)} } }
audit: { keyDir: ${j(`${o.dir}/keys`)} }
log: { level: warn }
principals:
  - { id: ${PGWIRE_PRINCIPAL}, kind: agent, apiKeys: ["${o.agentKeyHash}"] }
connections:
  - name: ${PGWIRE_CONNECTION}
    kind: postgres
    url: ${j(o.upstreamUrl)}${o.sessionCheckCache ? '\n    sessionCheckCache: true' : ''}
policy:
  default: deny
  rules:
    - id: bench-reads
      when: action.connection == "${PGWIRE_CONNECTION}" && facts.sql.readOnly
      effect: allow
    - id: bench-writes
      when: >-
        action.connection == "${PGWIRE_CONNECTION}"
        && facts.sql.statements.all(s, s.type in ["select", "insert", "update", "transaction"])
        && facts.sql.tables.all(t, t.startsWith("pgbench_"))
        && !facts.sql.unboundedWrite
      effect: allow
`;
}

/** Whether this build's config schema knows a postgres connection's `sessionCheckCache`. */
export function hasSessionCheckCache(yaml: string): boolean {
  try {
    parseConfig(yaml, 'bench-pgwire.yaml', {});
    return true;
  } catch (e) {
    if (isCountersignError(e, 'CONFIG_INVALID') && JSON.stringify(e.details['problems']).includes('sessionCheckCache')) return false;
    throw e;
  }
}

/**
 * Whether this build has the Postgres listener: its config schema knows `server.postgres`. False when the schema
 * refuses exactly that key; any other problem with the config throws, since it is the bench's own mistake.
 *
 * @example
 * if (!hasPgwireListener(yaml)) log('c. Countersign: skipped: no listener');
 */
export function hasPgwireListener(yaml: string): boolean {
  try {
    parseConfig(yaml, 'bench-pgwire.yaml', {});
    return true;
  } catch (e) {
    const problems = isCountersignError(e, 'CONFIG_INVALID') && Array.isArray(e.details['problems']) ? (e.details['problems'] as string[]) : [];
    if (problems.length === 1 && /^server: Unrecognized key: "postgres"/.test(problems[0]!)) return false;
    throw e;
  }
}
