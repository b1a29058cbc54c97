/**
 * The Postgres executor: SQL facts from the real parser, and a connection
 * that runs approved SQL in one transaction.
 */
export { deriveSqlFacts, loadSqlParser } from './facts.ts';
export { createPostgresConnection } from './connection.ts';
export type { PostgresConnectionConfig, SqlStatementResult } from './connection.ts';
