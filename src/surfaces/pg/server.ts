/**
 * The Postgres wire listener: `server.postgres` in the config. A client
 * connects with user = its principal id, password = its API key or token,
 * database = the name of a `kind: postgres` connection, and gets one upstream
 * connection of the gateway's for its session; every statement it sends is
 * an action (session.ts, statement.ts).
 *
 * Wrong credentials are 28P01 and an unknown database 3D000, told only after
 * the password was checked, so a stranger learns no connection names. A
 * protocol violation gets an ErrorResponse and the connection is closed;
 * nothing a client sends reaches another session.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { CLIENT_CANCEL, type WireUpstream } from '../../core/ports.ts';
import type { Authenticate } from '../../service/authenticate.ts';
import type { Deps } from '../../service/deps.ts';
import { sessionCredential } from '../../service/session-credential.ts';
import { backend, FrontendReader, ProtocolError, SQLSTATE, type FrontendMessage } from './protocol.ts';
import { ClientOutput } from './client-output.ts';
import { serveSession } from './session.ts';
import { CLIENT_GONE } from './statement.ts';
import { Inbox, isLoopback, readOpening } from './opening.ts';
import { ownerKey } from '../../core/visibility.ts';

/**
 * Unlike PostgreSQL's, the refusal does not quote the user name: a client with user and password swapped sends its
 * API key as the user, and the message would hand it to whatever logs the client's errors (psql's output, a CI log).
 */
const AUTH_FAILED = 'password authentication failed: the user must be a principal id and the password its API key or token';

export interface PgListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly holdSeconds: number;
  readonly maxSessions: number;
  readonly maxSessionsPerPrincipal: number;
  /** From connecting to authenticated, at most; then the connection is closed (PostgreSQL's authentication_timeout). */
  readonly authenticationSeconds: number;
  /** Connections not yet authenticated at once, apart from maxSessions (see `admit`). */
  readonly maxUnauthenticated: number;
  readonly maxMessageBytes: number;
  /** The most COPY FROM STDIN data one statement may carry (the listener holds it while the statement is judged). */
  readonly maxCopyBytes: number;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly authenticate: Authenticate;
  readonly requestUrl: (id: string) => string;
}

export interface PgListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * How long a connection that has not authenticated must have waited on its client before a newcomer may take its place
 * (PgListenerOptions.maxUnauthenticated): longer than a client takes to send its startup and password (a TLS handshake
 * included), so a burst of clients connecting at once does not push its own out.
 */
const EVICT_AFTER_MS = 500;

/** Where a connection is on its way to a session: the gateway checking its credential, then authenticated. */
interface Stage {
  checking(): void;
  /** Throws 53300 when maxSessions sessions are open. */
  authenticated(): void;
}

/** Ends a connection with a FATAL error on the socket the client reads now (TLS after an upgrade). */
function close(inbox: Inbox, code: string, message: string): void {
  const out = inbox.current;
  if (out.destroyed) return;
  out.end(backend.error({ severity: 'FATAL', code, message }), () => out.destroy());
  setTimeout(() => out.destroy(), 1000).unref();
}

/** What a CancelRequest may reach: the session with that key. */
interface Live {
  readonly secret: Buffer;
  cancel(): void;
}

/**
 * @example
 * const pg = await startPgListener(deps, { host: '127.0.0.1', port: 6432, holdSeconds: 300, … });
 */
export async function startPgListener(deps: Deps, opts: PgListenerOptions): Promise<PgListener> {
  const tls = opts.tls ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) : undefined;
  const live = new Map<number, Live>();
  /** Open sessions per principal (core/visibility.ts ownerKey). */
  const held = new Map<string, number>();
  const sockets = new Set<Socket>();
  /** Connections not yet authenticated, oldest first: since when each has waited on its client (null: on the gateway). */
  const opening = new Map<Socket, { inbox: Inbox; waitingSince: number | null }>();
  /** Sessions that authenticated: what maxSessions counts. */
  let sessions = 0;

  /**
   * Room for one more connection that has not authenticated. They have a budget of their own, apart from maxSessions,
   * since anyone who can reach the port can open them: sockets that send nothing, renewed before authenticationSeconds
   * closes them, would otherwise keep every agent out. Past the budget, the oldest one that has waited on its client
   * for longer than a handshake takes (a slow or idle one, never one whose credential the gateway is checking) gives
   * its place; without one, the newcomer is refused.
   */
  function admit(): boolean {
    if (opening.size < opts.maxUnauthenticated) return true;
    const now = performance.now();
    for (const [socket, o] of opening) {
      if (o.waitingSince === null || now - o.waitingSince < EVICT_AFTER_MS) continue;
      opening.delete(socket);
      close(o.inbox, '53300', 'too many connections authenticating at once: this one waited longest on its client');
      return true;
    }
    return false;
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    if (!admit()) {
      socket.end(backend.error({ severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' }));
      return;
    }
    const inbox = new Inbox(socket);
    const entry = { inbox, waitingSince: performance.now() as number | null };
    opening.set(socket, entry);
    // A client that never finishes its startup would keep its place among maxUnauthenticated.
    const timer = setTimeout(() => close(inbox, '57014', 'canceling authentication due to timeout'), opts.authenticationSeconds * 1000);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      opening.delete(socket);
    });
    const stage: Stage = {
      checking: () => void (entry.waitingSince = null),
      authenticated: () => {
        clearTimeout(timer);
        opening.delete(socket);
        if (sessions >= opts.maxSessions) throw new ProtocolError('53300', 'sorry, too many clients already');
        // Gone while its credential was checked: its close has passed, and would never give the place back.
        if (socket.destroyed) throw new ProtocolError('08006', 'the client went away');
        sessions++;
        socket.once('close', () => sessions--);
      },
    };
    serve(inbox, stage).catch((e: unknown) => {
      const fields = e instanceof ProtocolError ? { code: e.sqlstate, message: e.message } : { code: SQLSTATE.internalError as string, message: 'internal error in the gateway' };
      if (!(e instanceof ProtocolError)) deps.log.error({ err: e }, 'postgres wire session failed');
      // On the socket the client reads now (TLS after an upgrade).
      const out = inbox.current;
      if (out.destroyed) return;
      out.end(backend.error({ severity: 'FATAL', ...fields }));
    });
  });

  async function serve(inbox: Inbox, stage: Stage): Promise<void> {
    const raw = inbox.current;
    const opening = await readOpening(inbox, tls);
    if (opening.kind === 'gone') return;
    if (opening.kind === 'cancel') {
      const target = live.get(opening.pid);
      if (target && target.secret.length === opening.secret.length && timingSafeEqual(target.secret, opening.secret)) target.cancel();
      raw.end();
      return;
    }
    const socket = inbox.current;
    const { hello } = opening;
    const remote = raw.remoteAddress;
    // A client slower than the upstream: one promise, resolved when the socket has written what it holds (or closed).
    let draining: Promise<void> | undefined;
    const output = new ClientOutput((bytes) => {
      if (socket.destroyed || socket.write(bytes)) return undefined;
      return (draining ??= new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          draining = undefined;
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      }));
    });
    const send = output.send;
    if (!hello.tls && !isLoopback(remote)) {
      throw new ProtocolError('28000', 'a password is accepted only over TLS or from this machine: connect with sslmode=require');
    }
    send(backend.authCleartext());
    const reader = new FrontendReader({ maxMessageBytes: 16_384 });
    let first: FrontendMessage[] = [];
    while (first.length === 0) {
      if (!(await inbox.more())) return;
      first = reader.push(inbox.take());
    }
    const password = first.shift()!;
    if (password.type !== 'password') throw new ProtocolError('08P01', 'expected a password message');
    const key = password.data.toString('utf8').replace(/\0$/, '');
    const meta = { surface: 'postgres', ...(remote ? { remote } : {}) };
    let principal;
    stage.checking();
    try {
      principal = await opts.authenticate(key, meta);
    } catch {
      throw new ProtocolError('28P01', AUTH_FAILED);
    }
    if (principal.id !== hello.user) throw new ProtocolError('28P01', AUTH_FAILED);
    stage.authenticated();
    // Checked again before each message that could run something: a token that expires, or a key the identity stops
    // holding, ends the session there rather than at its close.
    const recheck = sessionCredential(opts.authenticate, deps.clock, key, meta, principal);
    const credential = async () => {
      try {
        await recheck();
      } catch (e) {
        const why = e instanceof Error ? e.message : 'refused';
        throw new ProtocolError('28000', `the credential this session was opened with is no longer accepted (${why}): nothing ran; connect again with a valid one`);
      }
    };
    // Counted per principal as requests are owned: another issuer's workload of the same id has sessions of its own.
    const owner = ownerKey(principal, deps.identity);
    if ((held.get(owner) ?? 0) >= opts.maxSessionsPerPrincipal) {
      throw new ProtocolError('53300', `too many sessions for ${principal.id.slice(0, 63)} (server.postgres.maxSessionsPerPrincipal is ${opts.maxSessionsPerPrincipal})`);
    }
    const handle = deps.connections.get(hello.database);
    if (!handle || handle.info.kind !== 'postgres' || !handle.openWireSession) {
      throw new ProtocolError('3D000', `database "${hello.database.slice(0, 63)}" does not exist`);
    }

    // Counted from here, before the upstream connection it may take: the cap bounds those too.
    const who = principal.id;
    held.set(owner, (held.get(owner) ?? 0) + 1);
    const release = () => {
      const n = (held.get(owner) ?? 1) - 1;
      if (n <= 0) held.delete(owner);
      else held.set(owner, n);
    };
    let upstream: WireUpstream;
    try {
      upstream = await handle.openWireSession(send, who);
    } catch {
      release();
      throw new ProtocolError('08006', `could not connect to ${handle.info.name}`);
    }
    const pid = newPid(live);
    const secret = randomBytes(4);
    // What a CancelRequest reaches: the statement being handled when it arrives (statement.ts and wire-cancel.ts say
    // what it does there); between statements, nothing.
    let current: AbortController | undefined;
    let spare: AbortController | undefined;
    live.set(pid, { secret, cancel: () => current?.abort(CLIENT_CANCEL) });
    upstream.onLost(() => socket.destroy());
    // A client that closed its connection waits for nothing more: a held statement stops waiting (and stays pending).
    let gone = false;
    const leave = () => {
      gone = true;
      current?.abort(CLIENT_GONE);
    };
    if (socket.destroyed) leave();
    else socket.once('close', leave);
    try {
      send(backend.authOk());
      for (const [name, value] of upstream.parameters) send(backend.parameterStatus(name, value));
      send(backend.backendKeyData(pid, secret));
      send(backend.readyForQuery('I'));
      const application = hello.params['application_name'];
      await serveSession(
        {
          take: () => inbox.take(),
          more: () => inbox.more(),
        },
        {
          deps,
          principal,
          connection: handle.info.name,
          upstream,
          send,
          holdSeconds: opts.holdSeconds,
          requestUrl: opts.requestUrl,
          context: { surface: 'postgres', ...(remote ? { remote } : {}), ...(application ? { application: application.slice(0, 64) } : {}) },
          maxRunMs: handle.maxRunMs,
          credential,
          cancelled: () => {
            current = spare ?? new AbortController();
            spare = undefined;
            if (gone) current.abort(CLIENT_GONE);
            return current.signal;
          },
          settled: () => {
            // The next statement takes this one's signal when nothing aborted it and nothing listens to it any more:
            // an AbortController costs about 5 µs to make, and a CancelRequest between statements reaches neither.
            if (current && !current.signal.aborted && getEventListeners(current.signal, 'abort').length === 0) spare = current;
            current = undefined;
          },
          output,
        },
        upstream,
        { maxMessageBytes: opts.maxMessageBytes, maxCopyBytes: opts.maxCopyBytes, initial: first },
      );
    } finally {
      output.release();
      live.delete(pid);
      release();
      leave();
      await upstream.release().catch(() => {});
    }
    socket.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** A process id for BackendKeyData no live session has. */
function newPid(live: ReadonlyMap<number, Live>): number {
  for (;;) {
    const pid = randomInt(1, 2 ** 31 - 1);
    if (!live.has(pid)) return pid;
  }
}
