/**
 * The PostgreSQL schema, applied in numbered steps recorded in
 * `schema_migrations`. Replicas that start together take turns under a
 * session-level advisory lock and re-read what is applied once they hold
 * it, so each step runs once. Times are ISO-8601 text compared byte by byte
 * (COLLATE "C"), as the records carry them; records are JSON text kept as
 * written, beside the columns queries filter on.
 */
import { CountersignError } from '../../../core/errors.ts';
import type { Db, Run } from './pool.ts';
import { termSetsFromTermsColumn } from './term-sets.ts';
import { PASSKEYS_SCHEMA } from './passkeys.ts';
import { reviewKeysSchema } from './reviews.ts';
import { escalationDueAt } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';

/**
 * A step is SQL, or code for what SQL alone should not do (keys made by the same function the store uses), run on
 * the migrating connection inside the step's transaction. Steps never change once shipped; a new one is appended.
 */
export const MIGRATIONS: readonly (string | ((run: Run) => Promise<void>))[] = [
  `CREATE TABLE requests (
     seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
     id text PRIMARY KEY,
     status text NOT NULL,
     principal_id text NOT NULL,
     acts_for text,
     connection text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     updated_at text COLLATE "C" NOT NULL,
     expires_at text COLLATE "C",
     version integer NOT NULL,
     digest text,
     terms text[] NOT NULL,
     record text NOT NULL
   );
   CREATE INDEX requests_status_expires ON requests (status, expires_at);
   CREATE INDEX requests_principal_digest ON requests (principal_id, digest);
   CREATE INDEX requests_acts_for ON requests (acts_for);
   CREATE INDEX requests_connection ON requests (connection);
   CREATE INDEX requests_terms ON requests USING gin (terms);
   CREATE TABLE reviews (
     n bigint GENERATED ALWAYS AS IDENTITY,
     request_id text NOT NULL REFERENCES requests (id),
     reviewer text NOT NULL,
     verdict text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     record text NOT NULL,
     PRIMARY KEY (request_id, reviewer)
   );
   CREATE INDEX reviews_reviewer ON reviews (reviewer);
   CREATE TABLE audit_events (
     seq bigint PRIMARY KEY,
     time text COLLATE "C" NOT NULL,
     type text NOT NULL,
     request_id text,
     actor text,
     body text NOT NULL,
     hash text NOT NULL
   );
   CREATE INDEX audit_request ON audit_events (request_id);
   -- The head of the log, one row: every append locks it first, so replicas append in one total order.
   CREATE TABLE audit_head (
     id integer PRIMARY KEY CHECK (id = 1),
     seq bigint NOT NULL,
     hash text NOT NULL,
     time text COLLATE "C" NOT NULL
   );
   INSERT INTO audit_head (id, seq, hash, time) VALUES (1, 0, '', '');
   CREATE TABLE merkle_nodes (
     level integer NOT NULL,
     idx bigint NOT NULL,
     hash bytea NOT NULL,
     PRIMARY KEY (level, idx)
   );
   CREATE TABLE checkpoints (
     size bigint PRIMARY KEY,
     root text NOT NULL,
     key_id text NOT NULL,
     note text NOT NULL,
     created_at text NOT NULL
   );
   CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE sessions (
     key text PRIMARY KEY,
     principal_id text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     expires_at text COLLATE "C" NOT NULL,
     record text NOT NULL
   );
   CREATE INDEX sessions_expires ON sessions (expires_at);
   CREATE TABLE tool_pins (
     connection text COLLATE "C" NOT NULL,
     tool text COLLATE "C" NOT NULL,
     hash text NOT NULL,
     definition text NOT NULL,
     pinned_at text NOT NULL,
     pinned_by text NOT NULL,
     changed text,
     PRIMARY KEY (connection, tool)
   );
   CREATE TABLE outbox (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     channel text COLLATE "C" NOT NULL,
     event text NOT NULL,
     request_id text,
     payload text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     next_attempt_at text COLLATE "C" NOT NULL,
     last_error text,
     state text NOT NULL DEFAULT 'pending'
   );
   CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
   CREATE INDEX outbox_order ON outbox (channel, request_id, state, id);
   CREATE TABLE channel_messages (
     n bigint GENERATED ALWAYS AS IDENTITY,
     request_id text NOT NULL,
     channel text NOT NULL,
     ref text NOT NULL,
     created_at text NOT NULL
   );
   CREATE INDEX channel_messages_request ON channel_messages (request_id, channel, n);
   CREATE TABLE known_humans (
     n bigint GENERATED ALWAYS AS IDENTITY,
     email text PRIMARY KEY,
     id text NOT NULL,
     record text NOT NULL
   );
   CREATE INDEX known_humans_id ON known_humans (id, n);
   -- Events are written in time order, so the first seq at a time is a binary search on the primary key:
   -- one round trip, and no index on time to update with every append.
   CREATE FUNCTION countersign_first_seq_at(at text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
   DECLARE
     lo bigint := 1;
     hi bigint;
     mid bigint;
     t text;
   BEGIN
     SELECT seq + 1 INTO hi FROM audit_head WHERE id = 1;
     WHILE lo < hi LOOP
       mid := (lo + hi) / 2;
       SELECT time INTO t FROM audit_events WHERE seq = mid;
       IF t >= at COLLATE "C" THEN hi := mid; ELSE lo := mid + 1; END IF;
     END LOOP;
     RETURN lo;
   END $$;`,
  // The Merkle tree's right edge at the head, written with it: a replica whose cached edge another replica moved on
  // takes it up from the locked head row, instead of a round trip for nodes and events while it holds the head.
  // `edge_seq` says which size the edge is for; a build that does not write it leaves it behind, and it is not trusted.
  `ALTER TABLE audit_head ADD COLUMN edge bytea, ADD COLUMN edge_seq bigint;`,
  // Term sets: a request refers to its set of terms (one integer) instead of a text[] under a GIN index.
  termSetsFromTermsColumn,
  // Idempotency keys: one request per (principal, key), enforced here so that of two racing submissions (on any
  // replicas) one inserts and the other waits for its commit, then fails on the index.
  `ALTER TABLE requests ADD COLUMN idempotency_key text;
   CREATE UNIQUE INDEX requests_idempotency ON requests (principal_id, idempotency_key) WHERE idempotency_key IS NOT NULL;`,
  // Passkeys of humans and the open step-up challenges (rules with `stepUp: webauthn`).
  PASSKEYS_SCHEMA,
  // Scoped grants: a use is one guarded UPDATE of its row (used < uses, not revoked, not expired) in the transaction
  // that records the request it approves; replicas racing for the last use queue on the row lock and re-check.
  `CREATE TABLE grants (
     seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
     id text PRIMARY KEY,
     shape text NOT NULL,
     request_id text NOT NULL,
     principal_id text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     expires_at text COLLATE "C" NOT NULL,
     uses integer NOT NULL,
     used integer NOT NULL DEFAULT 0,
     revoked_at text COLLATE "C",
     revoked_by text,
     record text NOT NULL
   );
   CREATE INDEX grants_shape ON grants (shape);
   CREATE INDEX grants_request ON grants (request_id);`,
  // When the escalation sweep must look at a pending request next: it reads those, not every pending request.
  // Filled from the records by realignEscalations, which runs after the steps at every start.
  `ALTER TABLE requests ADD COLUMN escalate_at text COLLATE "C";
   CREATE INDEX requests_escalate_at ON requests (escalate_at) WHERE escalate_at IS NOT NULL;`,
  // One review per person and request in the database itself, whatever id each review names them by (review-keys.ts).
  reviewKeysSchema,
  // Only a request made on someone's behalf has acts_for. The others (most) need no entry in its index, which each of
  // them wrote at its insert and again at its outcome (an update that changes an indexed column, status, enters every
  // index). Every query on the column is an equality with a value, which implies the predicate: the index still serves it.
  `DROP INDEX requests_acts_for;
   CREATE INDEX requests_acts_for ON requests (acts_for) WHERE acts_for IS NOT NULL;`,
  // The pending cap counts a principal's pending requests at each held submission (service/pending-cap.ts): without
  // this index it read every pending request of every principal. Only pending rows have an entry, so an allowed action
  // (inserted executing) writes none.
  `CREATE INDEX requests_pending_principal ON requests (principal_id) WHERE status = 'pending';`,
  // Resume keys (core/resume-key.ts): one live request per key, so that of two submissions resuming one action by its
  // digest on two replicas, each finding none, one inserts and the other waits for its commit, then fails on the index.
  `ALTER TABLE requests ADD COLUMN resume_key text;
   CREATE UNIQUE INDEX requests_resume ON requests (principal_id, resume_key)
     WHERE resume_key IS NOT NULL AND status IN ('pending', 'approved', 'executing');`,
];

/** The advisory lock key replicas take turns under while migrating ('countersign' in ASCII, as a bigint). */
const MIGRATION_LOCK = 0x636f756e746572;

/**
 * Brings the database to the schema this build knows, or (mustExist) checks
 * that it is there already. Refuses a schema newer than this build.
 */
export async function migrate(db: Db, mustExist: boolean): Promise<void> {
  const c = await db.connect(true);
  let failure: unknown;
  try {
    if (mustExist) {
      check(await applied(c.run), true);
      return;
    }
    // A step may rightly run long (a backfill), and so may the wait for another replica's steps.
    await c.run('SET statement_timeout = 0');
    // Session-level: held across the steps' own transactions, released below or when the connection ends.
    await c.run('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.run('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      // Read after the lock: a replica that held it before us may have applied everything.
      const done = (await applied(c.run)) ?? new Set<number>();
      check(done, false);
      for (let i = 0; i < MIGRATIONS.length; i++) {
        if (done.has(i + 1)) continue;
        await c.run('BEGIN');
        try {
          const step = MIGRATIONS[i]!;
          if (typeof step === 'string') await c.run(step);
          else await step(c.run);
          await c.run('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
          await c.run('COMMIT');
        } catch (e) {
          await c.run('ROLLBACK').catch(() => {});
          throw e;
        }
      }
      await realignEscalations(c.run);
    } finally {
      await c.run('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      // Back to the configured timeout before the connection joins the pool.
      await c.run('RESET statement_timeout').catch(() => {});
    }
  } catch (e) {
    failure = e;
    throw db.fail(e);
  } finally {
    // After a failure the session may still hold the lock or an open transaction: close it rather than pool it.
    c.done(failure !== undefined);
  }
}

/**
 * Brings every request's `escalate_at` in line with its record, at each start. A replica of a version before the
 * column, still running during a rolling upgrade, inserts pending requests without it (the sweep would never escalate
 * them) and changes requests without touching it (the sweep would look at a decided one at every pass). The last
 * replica of the new version to start puts right whatever the old ones wrote. A row written meanwhile is left to
 * its writer (the update names the version it read).
 */
export async function realignEscalations(run: Run): Promise<void> {
  await run(`UPDATE requests SET escalate_at = NULL WHERE escalate_at IS NOT NULL AND status <> 'pending'`);
  const { rows } = await run<{ id: string; record: string; version: number; escalate_at: string | null }>(
    `SELECT id, record, version, escalate_at FROM requests WHERE status = 'pending'`,
  );
  for (const row of rows) {
    const at = escalationDueAt({ ...(JSON.parse(row.record) as Omit<RequestRecord, 'reviews'>), reviews: [] });
    if (at !== row.escalate_at) await run('UPDATE requests SET escalate_at = $1 WHERE id = $2 AND version = $3', [at, row.id, row.version]);
  }
}

/** Versions applied, or undefined when the database has no schema_migrations table. */
async function applied(run: Run): Promise<Set<number> | undefined> {
  const exists = await run<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return undefined;
  const { rows } = await run<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => r.version));
}

function check(done: Set<number> | undefined, mustExist: boolean): void {
  const known = MIGRATIONS.length;
  const newest = done ? Math.max(0, ...done) : 0;
  if (newest > known) {
    throw new CountersignError(
      'CONFIG_INVALID',
      `store.postgres: the database schema is at version ${newest}, newer than this build knows (${known}); run a gateway version that knows it`,
    );
  }
  if (mustExist && (!done || done.size === 0)) {
    throw new CountersignError('CONFIG_INVALID', 'store.postgres: the database has no Countersign schema; start the gateway first (it creates the schema)');
  }
  if (mustExist && done && newest < known) {
    throw new CountersignError('CONFIG_INVALID', `store.postgres: the database schema is at version ${newest}, this build needs ${known}; start the gateway first (it migrates the schema)`);
  }
}
