/**
 * A small pool of upstream sessions per connection, for the wire listener's
 * session pooling: a client's session takes one for its lifetime and gives
 * it back when it ends. A session is kept for the next client only when its
 * holder says it is clean and a `DISCARD ALL` then succeeds with the backend
 * idle (ReadyForQuery 'I'): anything else (an open transaction, an error, a
 * stray byte) closes it, so no state of one client can reach another.
 */
import { serialize } from 'pg-protocol';
import { decodeFrame, FrameBuffer } from './upstream-frames.ts';
import { openUpstreamSession, type UpstreamSession } from './upstream-session.ts';

export interface UpstreamPoolOptions {
  name: string;
  /** postgres:// URL with the gateway's credentials; never leaves the adapter. */
  url: string;
  /** Idle sessions kept; default 8. */
  max?: number;
  /** An idle session is closed after this long; default 30 s. */
  idleMs?: number;
  /** Connecting, and the DISCARD ALL on release; default 10 s. */
  connectTimeoutMs?: number;
  /** More settings for every session, as startup options (DISCARD ALL returns to them). */
  settings?: Readonly<Record<string, string>>;
}

export interface UpstreamPool {
  /** An idle session reset by DISCARD ALL, or a new one. */
  acquire(): Promise<UpstreamSession>;
  /** Gives a session back: kept only when `reusable` and DISCARD ALL succeeds; closed otherwise. */
  release(session: UpstreamSession, o: { reusable: boolean }): Promise<void>;
  /** Closes the idle sessions; sessions released later are closed too. */
  close(): Promise<void>;
}

/**
 * Creates the pool; nothing connects until the first acquire.
 *
 * @example
 * const pool = createUpstreamPool({ name: 'orders', url: process.env.ORDERS_URL! });
 * const up = await pool.acquire();
 * // … relay a client's session …
 * await pool.release(up, { reusable: clientEndedCleanly });
 */
export function createUpstreamPool(opts: UpstreamPoolOptions): UpstreamPool {
  const max = Math.max(0, Math.floor(opts.max ?? 8));
  const idleMs = Math.max(1, opts.idleMs ?? 30_000);
  const timeoutMs = Math.max(1, opts.connectTimeoutMs ?? 10_000);
  const idle: { session: UpstreamSession; timer: NodeJS.Timeout }[] = [];
  let closed = false;

  function drop(session: UpstreamSession): void {
    const i = idle.findIndex((e) => e.session === session);
    if (i < 0) return;
    const [entry] = idle.splice(i, 1);
    if (entry) clearTimeout(entry.timer);
  }

  function keep(session: UpstreamSession): void {
    // While idle nothing may arrive; a byte or a close means the backend went away or misbehaves.
    const discard = (): void => {
      drop(session);
      session.close();
    };
    session.onData(discard);
    session.onClose(discard);
    const timer = setTimeout(discard, idleMs);
    timer.unref();
    idle.push({ session, timer });
  }

  return {
    async acquire() {
      if (closed) throw new Error(`the upstream pool of ${opts.name} is closed`);
      for (let entry = idle.pop(); entry; entry = idle.pop()) {
        clearTimeout(entry.timer);
        if (entry.session.closed) continue;
        // Until the holder sets its own listeners, bytes and a close wait for them.
        entry.session.onData(undefined);
        entry.session.onClose(undefined);
        return entry.session;
      }
      return openUpstreamSession({ name: opts.name, url: opts.url, connectTimeoutMs: timeoutMs, ...(opts.settings ? { settings: opts.settings } : {}) });
    },
    async release(session, o) {
      if (!o.reusable || closed || session.closed || idle.length >= max) return session.close();
      const clean = await discardAll(session, timeoutMs);
      if (!clean || closed || session.closed || idle.length >= max) return session.close();
      keep(session);
    },
    async close() {
      closed = true;
      for (const entry of idle.splice(0)) {
        clearTimeout(entry.timer);
        entry.session.close();
      }
    },
  };
}

/**
 * Sends DISCARD ALL as a simple Query and reads the answer up to
 * ReadyForQuery: true only with CommandComplete, no error, the backend idle
 * ('I', so no transaction was open) and nothing after.
 */
function discardAll(session: UpstreamSession, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const frames = new FrameBuffer();
    let completed = false;
    let failed = false;
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.onData(undefined);
      session.onClose(undefined);
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    session.onClose(() => settle(false));
    session.onData((chunk) => {
      try {
        frames.push(chunk);
        for (let frame = frames.take(); frame; frame = frames.take()) {
          const m = decodeFrame(frame);
          if (m.name === 'readyForQuery') return settle(completed && !failed && m['status'] === 'I' && frames.rest().length === 0);
          // Anything but DISCARD ALL's own answer (rows or a ReadyForQuery its holder left unread) makes the session unfit.
          if (m.name === 'commandComplete' && m['text'] === 'DISCARD ALL' && !completed) completed = true;
          else if (m.name !== 'parameterStatus' && m.name !== 'notice') failed = true;
        }
      } catch {
        settle(false);
      }
    });
    session.write(serialize.query('DISCARD ALL'));
  });
}
