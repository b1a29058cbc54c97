/**
 * The Postgres executor: SQL facts from the real parser, and a connection
 * that runs approved SQL in one transaction; for the wire listener, raw
 * upstream sessions and their pool.
 */
export { deriveSqlFacts, loadSqlParser } from './facts.ts';
export { createPostgresConnection } from './connection.ts';
export type { PostgresConnectionConfig, SqlStatementResult } from './connection.ts';
export { openUpstreamSession } from './upstream-session.ts';
export type { UpstreamSession, UpstreamSessionOptions } from './upstream-session.ts';
export { createUpstreamPool } from './upstream-pool.ts';
export type { UpstreamPool, UpstreamPoolOptions } from './upstream-pool.ts';
