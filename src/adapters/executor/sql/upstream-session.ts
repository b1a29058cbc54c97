/**
 * One raw protocol-level session on the upstream PostgreSQL, for the wire
 * listener: the gateway connects with its own credentials from the
 * connection URL (which its client never sees), negotiates TLS, answers the
 * server's authentication (cleartext, MD5, SCRAM-SHA-256 through pg's own
 * SASL code), pins the settings the SQL parser assumes as startup options,
 * and from ReadyForQuery on relays bytes without decoding them.
 *
 * Errors name only the connection and a bare token (an SQLSTATE or errno):
 * never the URL, host, user or password.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import { CountersignError } from '../../../core/errors.ts';
import { PINNED_SETTINGS } from './session-settings.ts';
import { decodeFrame, FrameBuffer } from './upstream-frames.ts';
import { openTransport, parseUpstreamUrl, tokenOf, UpstreamError, type UpstreamTarget } from './upstream-transport.ts';

/** pg's SCRAM client (RFC 5802/7677), the one node-postgres itself runs. */
interface ScramSession {
  mechanism: string;
  response: string;
}
interface Sasl {
  startSession(mechanisms: string[], stream?: tls.TLSSocket): ScramSession;
  continueSession(session: ScramSession, password: string, serverData: string, stream?: tls.TLSSocket): Promise<void>;
  finalizeSession(session: ScramSession, serverData: string): void;
}
const require = createRequire(import.meta.url);
const sasl = require('pg/lib/crypto/sasl.js') as Sasl;
const { postgresMd5PasswordHash } = require('pg/lib/crypto/utils.js') as {
  postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string>;
};

export interface UpstreamSession {
  /** The backend's process id (BackendKeyData); 0 when the server sent none. */
  readonly pid: number;
  /** ParameterStatus values the server sent at startup (server_version, client_encoding, TimeZone, …). */
  readonly parameters: ReadonlyMap<string, string>;
  /** Writes raw frontend bytes (already-framed messages); ignored once closed. */
  write(bytes: Buffer): void;
  /**
   * Raw upstream bytes after startup, in order. One listener at a time: a new
   * one replaces the last and first gets what arrived while there was none;
   * undefined keeps bytes for the next listener.
   */
  onData(listener: ((chunk: Buffer) => void) | undefined): void;
  /**
   * Called once when the socket closes (with an error unless close() closed
   * it). One listener at a time; set after the close, it is called at once;
   * undefined leaves the close for the next listener.
   */
  onClose(listener: ((err?: Error) => void) | undefined): void;
  /** Stops reading the server (TCP then holds it back) until `resume`: a client slower than the server bounds what waits in memory. */
  pause(): void;
  resume(): void;
  /**
   * Sends a CancelRequest for this backend on a new connection (as libpq's PQcancel); never rejects. True once the
   * server closed that connection (it has signalled the backend by then, or refused), or when nothing was sent; false
   * when it was sent and the server did not close it in time: it may still reach the backend later.
   */
  cancel(): Promise<boolean>;
  /** Sends Terminate and closes the socket. */
  close(): void;
  readonly closed: boolean;
}

export interface UpstreamSessionOptions {
  /** The connection's configured name: the only thing errors say about it. */
  name: string;
  /** postgres:// URL with the gateway's credentials; never leaves this module. */
  url: string;
  /** Connecting, TLS, authentication and startup together; default 10 s. */
  connectTimeoutMs?: number;
  /** More settings sent as startup options (`statement_timeout`); the pinned ones win over them. */
  settings?: Readonly<Record<string, string>>;
}

/**
 * Opens an authenticated session on the upstream and resolves at its first
 * ReadyForQuery. Rejects with a CountersignError (EXECUTION_FAILED) reading
 * "could not connect to <name>" and at most a bare token such as 28P01.
 *
 * @example
 * const up = await openUpstreamSession({ name: 'orders', url: process.env.ORDERS_URL! });
 * up.onData((chunk) => client.write(chunk));
 * up.write(serialize.query('SELECT 1'));
 */
export async function openUpstreamSession(opts: UpstreamSessionOptions): Promise<UpstreamSession> {
  const timeoutMs = Math.max(1, opts.connectTimeoutMs ?? 10_000);
  let target: UpstreamTarget;
  try {
    target = parseUpstreamUrl(opts.url, { ...opts.settings, ...PINNED_SETTINGS });
  } catch (e) {
    throw connectError(opts.name, e);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let socket: net.Socket | undefined;
  try {
    socket = await openTransport(target, controller.signal);
    const started = await startup(socket, target, controller.signal);
    return liveSession(socket, started, target, opts.name, timeoutMs);
  } catch (e) {
    socket?.destroy();
    throw connectError(opts.name, e);
  } finally {
    clearTimeout(timer);
  }
}

function connectError(name: string, e: unknown): CountersignError {
  const token = tokenOf(e);
  return new CountersignError('EXECUTION_FAILED', `could not connect to ${name}${token ? `: ${token}` : ''}`, token ? { reason: token } : {});
}

interface Started {
  parameters: Map<string, string>;
  pid: number;
  secret: number;
  /** Bytes that came after ReadyForQuery in the same read. */
  rest: Buffer;
}

/** The startup exchange (protocol §55.2.1), up to the first ReadyForQuery. */
function startup(socket: net.Socket, t: UpstreamTarget, signal: AbortSignal): Promise<Started> {
  return new Promise<Started>((resolve, reject) => {
    const frames = new FrameBuffer();
    const parameters = new Map<string, string>();
    const stream = socket instanceof tls.TLSSocket ? socket : undefined;
    let pid = 0;
    let secret = 0;
    let scram: ScramSession | undefined;
    let scramVerified = false;
    let authenticated = false;
    let busy = false;
    let done = false;

    const finish = (err: unknown, value?: Started): void => {
      if (done) return;
      done = true;
      socket.pause();
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (value) resolve(value);
      else reject(err);
    };
    const password = (): string => {
      if (t.password === undefined || t.password === '') throw new UpstreamError('NO_PASSWORD');
      return t.password;
    };

    /** Handles one frame; true at ReadyForQuery. */
    const handle = async (frame: Buffer): Promise<boolean> => {
      const type = String.fromCharCode(frame[0] ?? 0);
      if (type === 'R') {
        // The auth code is read here, not from pg-protocol, which names unknown codes "authenticationOk";
        // after AuthenticationOk no further request is answered.
        const code = frame.length >= 9 && !authenticated ? frame.readInt32BE(5) : -1;
        if (code === 0) {
          // A server that skips SCRAM's final message has not proved it knows the password (libpq refuses too).
          if (scram && !scramVerified) throw new UpstreamError('SCRAM_INCOMPLETE');
          authenticated = true;
        } else if (code === 3) {
          socket.write(serialize.password(password()));
        } else if (code === 5 && frame.length === 13) {
          socket.write(serialize.password(await postgresMd5PasswordHash(t.user, password(), frame.subarray(9, 13))));
        } else if (code === 10 && !scram) {
          const mechanisms = decodeFrame(frame)['mechanisms'] as string[];
          scram = scramStep(() => sasl.startSession(mechanisms, stream));
          socket.write(serialize.sendSASLInitialResponseMessage(scram.mechanism, scram.response));
        } else if (code === 11 && scram) {
          const session = scram;
          await scramAsync(() => sasl.continueSession(session, password(), frame.subarray(9).toString('utf8'), stream));
          socket.write(serialize.sendSCRAMClientFinalMessage(session.response));
        } else if (code === 12 && scram) {
          const session = scram;
          scramStep(() => sasl.finalizeSession(session, frame.subarray(9).toString('utf8')));
          scramVerified = true;
        } else {
          throw new UpstreamError('AUTH_METHOD_UNSUPPORTED');
        }
        return false;
      }
      if (type === 'E') throw new UpstreamError(tokenOf(decodeFrame(frame)) ?? 'XX000');
      if (type === 'S') {
        const m = decodeFrame(frame);
        parameters.set(String(m['parameterName']), String(m['parameterValue']));
        return false;
      }
      if (type === 'K') {
        const m = decodeFrame(frame);
        pid = Number(m['processID']);
        secret = Number(m['secretKey']);
        return false;
      }
      // NoticeResponse, NegotiateProtocolVersion: nothing to answer.
      if (type === 'N' || type === 'v') return false;
      if (type === 'Z' && authenticated) return true;
      throw new UpstreamError('EPROTO');
    };

    // One frame at a time: a SCRAM step awaits, and frames arriving meanwhile wait in `frames` for this same loop.
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        for (let frame = frames.take(); frame && !done; frame = frames.take()) {
          if (await handle(frame)) return finish(undefined, { parameters, pid, secret, rest: frames.rest() });
        }
      } catch (e) {
        finish(e);
      } finally {
        busy = false;
      }
    };
    const onData = (chunk: Buffer): void => {
      frames.push(chunk);
      void pump();
    };
    const onError = (e: Error): void => finish(new UpstreamError(tokenOf(e) ?? 'ECONNRESET'));
    const onClose = (): void => finish(new UpstreamError('ECONNRESET'));
    const onAbort = (): void => finish(new UpstreamError('ETIMEDOUT'));

    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(serialize.startup({ user: t.user, database: t.database, application_name: 'countersign', options: t.options }));
    socket.resume();
  });
}

/** pg's SASL code throws plain errors; only a token leaves here. */
function scramStep<T>(step: () => T): T {
  try {
    return step();
  } catch {
    throw new UpstreamError('SCRAM_FAILED');
  }
}

async function scramAsync(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch {
    throw new UpstreamError('SCRAM_FAILED');
  }
}

/** The session after startup: a thin relay over the socket. */
function liveSession(socket: net.Socket, started: Started, t: UpstreamTarget, name: string, timeoutMs: number): UpstreamSession {
  const pending: Buffer[] = started.rest.length > 0 ? [started.rest] : [];
  let dataListener: ((chunk: Buffer) => void) | undefined;
  let closeListener: ((err?: Error) => void) | undefined;
  let closing = false;
  let ended = false;
  let endError: Error | undefined;

  socket.on('data', (chunk: Buffer) => {
    if (dataListener) dataListener(chunk);
    else pending.push(chunk);
  });
  socket.on('error', (e) => {
    const token = tokenOf(e);
    endError ??= new Error(`lost the connection to ${name}${token ? `: ${token}` : ''}`);
  });
  // Each listener hears of the close once; one set after it hears at once.
  const reportClose = (): void => {
    const listener = closeListener;
    if (!ended || !listener) return;
    closeListener = undefined;
    listener(closing ? undefined : endError);
  };
  socket.on('close', () => {
    ended = true;
    if (!closing) endError ??= new Error(`lost the connection to ${name}`);
    reportClose();
  });
  socket.resume();

  return {
    pid: started.pid,
    parameters: started.parameters,
    get closed() {
      return closing || ended;
    },
    write(bytes) {
      if (!closing && !ended) socket.write(bytes);
    },
    onData(listener) {
      dataListener = listener;
      // A listener may replace itself while handling a chunk; the rest is then the new one's.
      while (listener && pending.length > 0 && dataListener === listener) listener(pending.shift() as Buffer);
    },
    onClose(listener) {
      closeListener = listener;
      if (ended) queueMicrotask(reportClose);
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    async cancel() {
      if (started.pid === 0) return true;
      return sendCancel(t, started.pid, started.secret, timeoutMs);
    },
    close() {
      if (closing || ended) return;
      closing = true;
      socket.end(serialize.end());
      // A server that never closes its side must not keep the socket forever.
      setTimeout(() => socket.destroy(), 5_000).unref();
    },
  };
}

/**
 * CancelRequest (protocol §55.2.8) on its own connection, encrypted as the session was; done when the server hangs
 * up, which it does after signalling the backend (true). False when the request went out and no orderly close came.
 */
async function sendCancel(t: UpstreamTarget, pid: number, secret: number, timeoutMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  let socket: net.Socket | undefined;
  try {
    socket = await openTransport(t, signal);
  } catch {
    // Best effort, as PQcancel: nothing was sent, so nothing can arrive late.
    return true;
  }
  const s = socket;
  try {
    return await new Promise<boolean>((resolve) => {
      const done = (handled: boolean) => (): void => {
        signal.removeEventListener('abort', late);
        resolve(handled);
      };
      const late = done(false);
      s.once('close', (hadError) => done(!hadError)());
      s.once('error', done(false));
      signal.addEventListener('abort', late, { once: true });
      s.resume();
      s.end(serialize.cancel(pid, secret));
    });
  } finally {
    s.destroy();
  }
}
