/**
 * The PostgreSQL store: every port of the Store over one database that any
 * number of replicas share. (Entry point; the adapter lands in this folder.)
 */
import { CountersignError } from '../../../core/errors.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Store } from '../../../core/ports.ts';

export interface PostgresStoreOptions {
  /** postgres:// URL (may hold a password: never logged, never in an error). */
  readonly url: string;
  /** Connections in this process's pool. */
  readonly poolSize?: number;
  /** statement_timeout of every connection, in ms. */
  readonly statementTimeoutMs?: number;
  /** How long a call waits for a connection (a free one, or a new one), in ms. */
  readonly connectTimeoutMs?: number;
  /** Handed to node-postgres as it is. */
  readonly ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  /** Which deliveries each audit event causes; they commit in the same transaction as the event. */
  readonly outbox?: OutboxRouter;
  /** Open only a store that exists (its schema migrated by a gateway); never create or migrate one. */
  readonly mustExist?: boolean;
}

export async function createPostgresStore(_options: PostgresStoreOptions): Promise<Store> {
  throw new CountersignError('CONFIG_INVALID', 'store.postgres: this build has no PostgreSQL store');
}
