/**
 * Stopping a statement on the server when the gateway stops waiting for it.
 * A client-side timeout alone abandons the backend, which keeps running (and
 * holding its locks and its pool slot) until it finishes; a few such actions
 * would starve the pool for everyone. So on the gateway's deadline the
 * backend is cancelled from a second connection (`pg_cancel_backend`, the
 * same as a wire CancelRequest), then terminated if it has not stopped, and
 * the client is never returned to the pool.
 */
import pg from 'pg';

/** Thrown when a call passed the gateway's deadline; the backend was cancelled (or terminated). */
export class StatementTimedOut extends Error {
  constructor() {
    super('the statement passed the gateway timeout and was cancelled on the server');
    this.name = 'StatementTimedOut';
  }
}

/**
 * Waits for `run` at most `ms`; past that, stops backend `pid` on the server and throws StatementTimedOut.
 *
 * @example
 * await bounded(client.query(sql), 30_000, () => stopBackend(url, pid, run, 2_000));
 */
export async function bounded<T>(run: Promise<T>, ms: number, stop: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    const first = await Promise.race([run.then((value) => ({ value })), late]);
    if (first !== 'late') return first.value;
  } finally {
    clearTimeout(timer);
  }
  run.catch(() => {}); // it rejects once cancelled; nobody waits for it any more
  await stop();
  throw new StatementTimedOut();
}

/**
 * Cancels backend `pid` from a new connection, and terminates it when it has
 * not stopped `graceMs` after the cancel. Never throws: the caller destroys
 * its client either way.
 *
 * @example
 * await stopBackend(config.url, 4242, run, 2_000);
 */
export async function stopBackend(url: string, pid: number, run: Promise<unknown>, graceMs: number): Promise<void> {
  const settled = run.then(
    () => true,
    () => true,
  );
  if ((await signal(url, 'pg_cancel_backend', pid)) && (await within(settled, graceMs))) return;
  await signal(url, 'pg_terminate_backend', pid);
}

async function signal(url: string, fn: 'pg_cancel_backend' | 'pg_terminate_backend', pid: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: 'countersign-cancel' });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`SELECT pg_catalog.${fn}($1)`, [pid]);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
