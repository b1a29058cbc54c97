/**
 * Leases across replicas on one PostgreSQL database: a session-level advisory
 * lock per job, held on a connection of its own. The lock lives exactly as
 * long as that session: when the holder stops, crashes or loses its network,
 * the server ends the session and another replica's next try takes it. A
 * dropped connection here means this process leads nothing until it is back.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Leases, Log } from '../../core/ports.ts';
import { postgresSession, type PostgresSessionOptions } from '../postgres-session.ts';

/** `url` may hold a password: it is never logged. */
export interface PostgresLeasesOptions extends PostgresSessionOptions {
  readonly log?: Log;
}

/** One 64-bit advisory lock key per job name, in a namespace of our own (a hash, so another application's small integers do not collide). */
export function lockKey(job: string): string {
  return createHash('sha256').update(`countersign.lease:${job}`).digest().readBigInt64BE(0).toString();
}

/**
 * @example
 * const leases = createPostgresLeases({ url }); if (await leases.tryLead('expiry')) await expireDue(deps);
 */
export function createPostgresLeases(options: PostgresLeasesOptions): Leases {
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let closed = false;
  /** Jobs whose lock this session holds: asking again would stack the lock, not renew it. */
  const held = new Set<string>();

  const open = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      // A network gone silent must not hang a try, and every later one behind it: a statement unanswered past the
      // connect timeout fails, and `tryLead` then drops the connection.
      const c = postgresSession(options, 'countersign-leases');
      const drop = (e: Error | null) => {
        if (client !== c) return;
        client = null;
        // The session is gone, and its locks with it.
        held.clear();
        options.log?.warn({ err: e?.message ?? 'connection ended' }, 'the lease connection to PostgreSQL dropped; background jobs pause here until it is back');
        c.end().catch(() => {});
      };
      c.on('error', (e) => drop(e));
      c.on('end', () => drop(null));
      try {
        await c.connect();
        // The server learns of a silent partition only from its keepalives (by default after about two hours): until
        // then the dead session keeps its locks and no other process leads. Probe within seconds instead.
        await c.query('SELECT set_config($1, $2, false), set_config($3, $4, false), set_config($5, $6, false)', [
          'tcp_keepalives_idle', '10', 'tcp_keepalives_interval', '5', 'tcp_keepalives_count', '3',
        ]);
      } catch (e) {
        await c.end().catch(() => {});
        throw e;
      }
      if (closed) {
        await c.end().catch(() => {});
        throw new Error('leases closed');
      }
      client = c;
      return c;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  return {
    async tryLead(job) {
      if (closed) return false;
      let c: pg.Client;
      try {
        c = await open();
      } catch {
        return false;
      }
      try {
        // Still ours? A lost session would have cleared `held`; this also notices one cut without an event yet.
        if (held.has(job)) {
          await c.query('SELECT 1');
          return client === c && held.has(job);
        }
        const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [lockKey(job)]);
        if (rows[0]?.ok && client === c) {
          held.add(job);
          return true;
        }
        return false;
      } catch {
        // Whatever failed (a read timeout, a cut), this session may be gone: its locks are no longer counted on, and
        // the next try opens another. Ending a session that is still there releases its locks, as a crash would.
        if (client === c) {
          client = null;
          held.clear();
          c.end().catch(() => {});
        }
        return false;
      }
    },
    async close() {
      closed = true;
      const c = client;
      client = null;
      held.clear();
      // Ending the session releases its advisory locks.
      await c?.end().catch(() => {});
    },
  };
}
