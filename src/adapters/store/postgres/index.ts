/**
 * The PostgreSQL store: every port of the Store over one database that any
 * number of replicas share. Opening it migrates the schema (or, with
 * mustExist, only checks it) before anything else touches the database.
 */
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Store } from '../../../core/ports.ts';
import { createDb } from './pool.ts';
import { migrate } from './schema.ts';
import { createStoreOn } from './store.ts';

export interface PostgresStoreOptions {
  /** postgres:// URL (may hold a password: never logged, never in an error). */
  readonly url: string;
  /** Connections in this process's pool. */
  readonly poolSize?: number;
  /** statement_timeout of every connection, in ms. */
  readonly statementTimeoutMs?: number;
  /**
   * idle_in_transaction_session_timeout of every connection, in ms: the server ends a transaction of this replica that
   * sat idle that long (the process froze or lost the network while holding the audit head), so the other replicas,
   * which all wait for that lock, write again. Below statementTimeoutMs, their waiting writes then go through.
   */
  readonly idleInTransactionTimeoutMs?: number;
  /** How long a call waits for a connection (a free one, or a new one), in ms. */
  readonly connectTimeoutMs?: number;
  /** Handed to node-postgres as it is. */
  readonly ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  /** Which deliveries each audit event causes; they commit in the same transaction as the event. */
  readonly outbox?: OutboxRouter;
  /** Open only a store that exists (its schema migrated by a gateway); never create or migrate one. */
  readonly mustExist?: boolean;
  /** Writes that queue while one is in flight share the next transaction (default true; false is for measuring it). */
  readonly groupCommit?: boolean;
}

/**
 * @example
 * const store = await createPostgresStore({ url: 'postgres://countersign@db.internal/countersign', poolSize: 10 });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const poolSize = Math.max(1, options.poolSize ?? 10);
  const db = createDb({
    url: options.url,
    poolSize,
    statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
  });
  try {
    await migrate(db, options.mustExist === true);
  } catch (e) {
    await db.end().catch(() => {});
    throw e;
  }
  return createStoreOn(db, { ...(options.outbox ? { outbox: options.outbox } : {}), groupCommit: options.groupCommit !== false, poolSize });
}
