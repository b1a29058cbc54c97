/**
 * A connection of its own to the store's PostgreSQL database, for what
 * must not share the pool: the LISTEN of wake-ups and the session that holds
 * the leases' advisory locks. A statement left unanswered past the connect
 * timeout (a network gone silent: no RST comes) fails rather than hangs, so
 * the caller can take the session as lost and open another.
 */
import pg from 'pg';

export interface PostgresSessionOptions {
  readonly url: string;
  /** Handed to node-postgres as it is. */
  readonly ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  /** Connecting, and each statement, at most this long (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/** A new, unconnected client; `name` shows in pg_stat_activity. */
export function postgresSession(options: PostgresSessionOptions, name: string): pg.Client {
  return new pg.Client({
    connectionString: options.url,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    keepAlive: true,
    query_timeout: options.connectTimeoutMs ?? 5000,
    application_name: name,
  });
}
