/**
 * Wake-ups across replicas on one PostgreSQL database: LISTEN/NOTIFY on a
 * connection of its own. A change is handed to this process's listeners at
 * once and announced with NOTIFY (request id, version, and this process's
 * origin so it skips its own echo); another replica reads the request back
 * from the store and wakes its waiters. NOTIFY is delivered only after the
 * sending transaction commits, and publish is called after the change
 * commits, so the read sees it.
 *
 * A dropped connection (or one that leaves an announcement unanswered) is
 * opened again with backoff and LISTENs again; the requests waited on here
 * are then read once more, for a change announced while nobody listened. Waiters also poll slowly, so nothing waits forever.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { CountersignError } from '../../core/errors.ts';
import type { Log } from '../../core/ports.ts';
import { postgresSession, type PostgresSessionOptions } from '../postgres-session.ts';
import { createLocalListeners, createRemoteReceiver, parseChange, worthAnnouncing, type ClosableNotifier, type LoadRequest } from './listeners.ts';

/** `url` may hold a password: it is never logged, never in an error. */
export interface PostgresNotifierOptions extends PostgresSessionOptions {
  /** Reads a request from the store (main.ts passes store.getRequest). */
  readonly load: LoadRequest;
  readonly log?: Log;
  /** The NOTIFY channel; every replica of one store must use the same. */
  readonly channel?: string;
}

export const NOTIFY_CHANNEL = 'countersign_requests';
const MAX_BACKOFF_MS = 5000;

/**
 * @example
 * const notifier = await createPostgresNotifier({ url: config.store.postgres.url, load: (id) => store.getRequest(id) });
 */
export async function createPostgresNotifier(options: PostgresNotifierOptions): Promise<ClosableNotifier> {
  const channel = options.channel ?? NOTIFY_CHANNEL;
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new CountersignError('CONFIG_INVALID', `notify channel ${JSON.stringify(channel)}: lower-case letters, digits and _`);
  const origin = randomBytes(8).toString('hex');
  const local = createLocalListeners();
  const receive = createRemoteReceiver(local, options.load, origin, options.log);
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let backoff = 100;

  const connect = async (): Promise<pg.Client> => {
    // An announcement the server never answers must not hold back every later one, queued behind it in memory: past
    // the connect timeout it fails, and the connection is taken as lost and opened again.
    const c = postgresSession(options, 'countersign-notify');
    // Without a listener, an error on an idle connection would crash the process.
    c.on('error', (e) => lost(c, e));
    c.on('end', () => lost(c, null));
    c.on('notification', (n) => {
      if (n.channel !== channel) return;
      const change = parseChange(n.payload);
      if (change) receive(change);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (e) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
      throw e;
    }
    return c;
  };

  const lost = (c: pg.Client, e: Error | null) => {
    if (client !== c || closed) return;
    client = null;
    options.log?.warn({ err: describe(e) }, 'the LISTEN connection to PostgreSQL dropped; reconnecting');
    c.end().catch(() => {});
    schedule();
  };

  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connect().then(
        (c) => {
          if (closed) return void c.end().catch(() => {});
          client = c;
          backoff = 100;
          options.log?.info({}, 'listening to PostgreSQL again');
          // What changed while nobody listened: read again every request waited on here.
          for (const id of local.ids()) receive({ origin: '', id, version: 0 });
        },
        (e: unknown) => {
          options.log?.warn({ err: describe(e), retryInMs: backoff }, 'reconnecting the LISTEN connection to PostgreSQL failed');
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          schedule();
        },
      );
    }, backoff);
    retry.unref();
  };

  // One statement at a time on the connection: what is published meanwhile goes in the next one, in order.
  let pending: string[] = [];
  let sending = false;
  const flush = () => {
    const c = client;
    if (sending || pending.length === 0) return;
    if (!c) return void (pending = []);
    const batch = pending;
    pending = [];
    sending = true;
    c.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS t(payload, n) ORDER BY n', [channel, batch])
      .catch((e: unknown) => {
        options.log?.warn({ changes: batch.length, err: describe(e) }, 'announcing request changes to other replicas failed');
        // Unanswered or refused, the connection is not trusted to listen either: the waiters here catch up once it is back.
        lost(c, e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        sending = false;
        flush();
      });
  };

  try {
    client = await connect();
  } catch (e) {
    throw new CountersignError('STORE_UNAVAILABLE', `cannot listen for request changes on ${where(options.url)}: ${describe(e)}`);
  }

  return {
    publish(request) {
      local.publish(request);
      if (!client) return; // waiters elsewhere fall back to their poll until the connection is back
      if (!worthAnnouncing(request)) return;
      pending.push(JSON.stringify({ origin, id: request.id, version: request.version }));
      flush();
    },
    subscribe: local.subscribe,
    subscribeAll: local.subscribeAll,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}

/** The database's host, port and name, for messages (never the user or password). */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** An error's code and message without the URL it may quote. */
function describe(e: unknown): string {
  if (e === null || e === undefined) return 'connection ended';
  const code = typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  const message = e instanceof Error ? e.message.replace(/postgres(ql)?:\/\/\S+/g, 'postgres://…') : String(e);
  return code ? `${code}: ${message}` : message;
}
