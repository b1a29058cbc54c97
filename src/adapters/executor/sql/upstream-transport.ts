/**
 * Where and how an upstream PostgreSQL session connects: the connection URL
 * read once into a target, and a socket opened to it with TLS negotiated as
 * its sslmode says (libpq's meanings). Failures carry only a bare token
 * (`ECONNREFUSED`, `SSL_NOT_SUPPORTED`, …) as their code: the URL, host, user
 * and password never reach an error.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** A Unix-domain socket (the URL's host is a directory); TLS is never tried on one, as libpq. */
  readonly socketPath?: string;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  readonly sslmode: SslMode;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The startup `options`: the URL's own, then the pinned settings, which win. */
  readonly options: string;
}

/** A failure whose `code` is a bare token, safe to show (see safeCode in connection.ts). */
export class UpstreamError extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = 'UpstreamError';
  }
}

const MODES: Readonly<Record<string, SslMode>> = {
  disable: 'disable',
  // libpq's `allow` tries plain text first; encrypting when the server can is the safer reading of the same intent.
  allow: 'prefer',
  prefer: 'prefer',
  require: 'require',
  'no-verify': 'require', // pg-connection-string's spelling
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

/**
 * Reads a `postgres://user:pass@host:port/db?sslmode=…` URL into a target,
 * with `-c name=value` startup options for `pinned` after the URL's own.
 *
 * @example
 * parseUpstreamUrl('postgres://app:pw@db:5432/orders?sslmode=require', { standard_conforming_strings: 'on' });
 */
export function parseUpstreamUrl(raw: string, pinned: Readonly<Record<string, string>>): UpstreamTarget {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new UpstreamError('INVALID_URL');
    const q = url.searchParams;
    const port = Number(url.port || q.get('port') || 5432);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UpstreamError('INVALID_URL');
    const host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1') || q.get('host') || 'localhost';
    const user = decodeURIComponent(url.username) || q.get('user') || userInfo().username;
    const password = url.password ? decodeURIComponent(url.password) : (q.get('password') ?? undefined);
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || q.get('dbname') || user;
    let sslmode = MODES[q.get('sslmode') ?? 'prefer'];
    if (!sslmode) throw new UpstreamError('INVALID_SSLMODE');
    const rootcert = q.get('sslrootcert');
    // libpq: a root certificate given makes `require` check the chain (verify-ca); `system` means the system's CAs and verify-full.
    if (rootcert === 'system') sslmode = 'verify-full';
    else if (rootcert && sslmode === 'require') sslmode = 'verify-ca';
    const pins = Object.entries(pinned).map(([name, value]) => `-c ${name}=${value}`);
    return {
      host,
      port,
      ...(host.startsWith('/') ? { socketPath: `${host}/.s.PGSQL.${port}` } : {}),
      user,
      ...(password !== undefined ? { password } : {}),
      database,
      sslmode,
      ...(rootcert && rootcert !== 'system' ? { ca: readCredential(rootcert, 'SSLROOTCERT_UNREADABLE') } : {}),
      ...(q.get('sslcert') ? { cert: readCredential(q.get('sslcert') ?? '', 'SSLCERT_UNREADABLE') } : {}),
      ...(q.get('sslkey') ? { key: readCredential(q.get('sslkey') ?? '', 'SSLKEY_UNREADABLE') } : {}),
      options: [q.get('options'), ...pins].filter(Boolean).join(' '),
    };
  } catch (e) {
    throw e instanceof UpstreamError ? e : new UpstreamError('INVALID_URL');
  }
}

function readCredential(path: string, code: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new UpstreamError(code);
  }
}

/**
 * Opens a socket to the target and negotiates TLS (SSLRequest) as its
 * sslmode says. The socket comes back paused, before any startup message.
 * Aborting `signal` destroys it and rejects with ETIMEDOUT.
 *
 * @example
 * const socket = await openTransport(target, AbortSignal.timeout(10_000));
 */
export async function openTransport(t: UpstreamTarget, signal: AbortSignal): Promise<net.Socket> {
  if (t.socketPath && t.sslmode !== 'disable' && t.sslmode !== 'prefer') throw new UpstreamError('SSL_NOT_ON_UNIX_SOCKET');
  const raw = t.socketPath ? net.connect(t.socketPath) : net.connect({ host: t.host, port: t.port });
  try {
    await settle(raw, 'connect', signal);
    raw.setNoDelay(true);
    raw.setKeepAlive(true, 60_000);
    if (t.sslmode === 'disable' || t.socketPath) return raw.pause();
    raw.write(serialize.requestSsl());
    const reply = await settle<Buffer>(raw, 'data', signal);
    raw.pause();
    if (reply[0] === 0x4e /* N */) {
      if (t.sslmode === 'prefer' && reply.length === 1) return raw;
      throw new UpstreamError(reply.length === 1 ? 'SSL_NOT_SUPPORTED' : 'EPROTO');
    }
    // CVE-2021-23222: bytes after the 'S' came before the handshake, so anyone on the path could have put them there.
    if (reply[0] !== 0x53 /* S */ || reply.length !== 1) throw new UpstreamError('EPROTO');
    const verify = t.sslmode === 'verify-ca' || t.sslmode === 'verify-full';
    const secure = tls.connect({
      socket: raw,
      ...(net.isIP(t.host) ? {} : { servername: t.host }),
      rejectUnauthorized: verify,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
      checkServerIdentity: (_name, cert) => (t.sslmode === 'verify-full' ? tls.checkServerIdentity(t.host, cert) : undefined),
    });
    try {
      await settle(secure, 'secureConnect', signal);
    } catch (e) {
      secure.destroy();
      throw e;
    }
    return secure.pause();
  } catch (e) {
    raw.destroy();
    throw e;
  }
}

/** The first `event` of `socket`, or its error (as a bare code), its close, or the signal's abort. */
function settle<T = void>(socket: net.Socket, event: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (err: Error | undefined, value?: T): void => {
      socket.off(event, onEvent);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onEvent = (value?: T): void => {
      // Whatever comes next belongs to the next reader; a flowing socket without a listener would drop it.
      if (event === 'data') socket.pause();
      done(undefined, value);
    };
    const onError = (e: Error): void => done(new UpstreamError(tokenOf(e) ?? 'ECONNRESET'));
    const onClose = (): void => done(new UpstreamError('ECONNRESET'));
    const onAbort = (): void => done(new UpstreamError('ETIMEDOUT'));
    if (signal.aborted) return onAbort();
    socket.once(event, onEvent);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error's code when it is a bare token (SQLSTATE 28P01, ECONNREFUSED,
 * DEPTH_ZERO_SELF_SIGNED_CERT): useful to an operator, and unlike a message
 * it cannot carry a host or user.
 */
export function tokenOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}
