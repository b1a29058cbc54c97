/**
 * A wire client's first exchange: TLS if it asks and the listener has a
 * certificate, then the startup message, the password (the principal's API
 * key or token), and the database (a `kind: postgres` connection).
 *
 * The password travels in cleartext inside the protocol, so it is asked for
 * only on TLS or from a loopback address; elsewhere the client is refused
 * before it sends one. Bytes a client sends after its SSLRequest but before
 * the handshake are refused too: they would be read as if they had come
 * under TLS (CVE-2021-23214).
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { backend, PROTOCOL_3_2, ProtocolError, readStartupPacket, type StartupPacket } from './protocol.ts';

/** The newest minor version of protocol 3 the listener speaks (3.2: cancel keys of any length it accepts). */
const SPOKEN_MINOR = PROTOCOL_3_2 & 0xffff;

/** Bytes an Inbox holds before it pauses its socket until they are taken. */
const INBOX_BYTES = 1 << 20;

/** Bytes from a socket, read packet by packet; the socket is paused while too much waits to be taken. */
export class Inbox {
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(private socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length > INBOX_BYTES) socket.pause();
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  /** The socket now read from (a TLS socket after the upgrade). */
  get current(): Socket {
    return this.socket;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** The next startup-phase packet; null when the client went away. */
  async startupPacket(): Promise<StartupPacket | null> {
    for (;;) {
      const got = readStartupPacket(this.buffer);
      if (got) {
        this.buffer = this.buffer.subarray(got.used);
        return got.packet;
      }
      if (this.ended) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  /** Waits for more bytes; false when the client went away. */
  async more(): Promise<boolean> {
    if (this.buffer.length > 0) return true;
    if (this.ended) return false;
    await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    return !this.ended || this.buffer.length > 0;
  }

  /** Takes what is buffered. */
  take(): Buffer {
    const b = this.buffer;
    this.buffer = Buffer.alloc(0);
    if (this.socket.isPaused()) this.socket.resume();
    return b;
  }

  /** Switches to TLS on the same connection. */
  async upgrade(context: SecureContext): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const tls = new TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = tls;
    this.listen(tls);
    await new Promise<void>((resolve, reject) => {
      tls.once('secure', () => resolve());
      tls.once('error', reject);
      tls.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
  }
}

export interface Hello {
  readonly user: string;
  readonly database: string;
  readonly params: Readonly<Record<string, string>>;
  readonly tls: boolean;
}

export type Opening = { kind: 'session'; hello: Hello } | { kind: 'cancel'; pid: number; secret: Buffer } | { kind: 'gone' };

/**
 * Reads up to the startup message, answering SSLRequest and GSSENCRequest.
 * Throws ProtocolError on anything the protocol does not allow here.
 */
export async function readOpening(inbox: Inbox, tls: SecureContext | undefined): Promise<Opening> {
  let secured = false;
  let gssAsked = false;
  for (;;) {
    const packet = await inbox.startupPacket();
    if (!packet) return { kind: 'gone' };
    switch (packet.type) {
      case 'cancel':
        return { kind: 'cancel', pid: packet.pid, secret: packet.secret };
      case 'ssl':
        if (secured) throw new ProtocolError('08P01', 'SSLRequest after the connection was already secured');
        if (!tls) {
          inbox.current.write(backend.sslRefused());
          break;
        }
        if (inbox.pending > 0) throw new ProtocolError('08P01', 'bytes after the SSLRequest, before the TLS handshake');
        inbox.current.write(backend.sslAccepted());
        await inbox.upgrade(tls);
        secured = true;
        break;
      case 'gssenc':
        // No GSSAPI encryption: 'N', and the client goes on in the clear or asks for TLS.
        if (gssAsked || secured) throw new ProtocolError('08P01', 'GSSENCRequest out of order');
        gssAsked = true;
        inbox.current.write(Buffer.from('N'));
        break;
      case 'startup': {
        // As PostgreSQL's ProcessStartupPacket: a newer minor than the gateway speaks, or `_pq_.` protocol options
        // (none of which it knows), are answered before anything else, so the client does not go on believing
        // they are in force.
        const minor = packet.version & 0xffff;
        const options = Object.keys(packet.params).filter((name) => name.startsWith('_pq_.'));
        if (minor > SPOKEN_MINOR || options.length > 0) inbox.current.write(backend.negotiateProtocolVersion(Math.min(minor, SPOKEN_MINOR), options));
        const user = packet.params['user'];
        if (!user) throw new ProtocolError('28000', 'no user name in the startup message: connect as your principal id');
        const database = packet.params['database'] ?? user;
        return { kind: 'session', hello: { user, database, params: packet.params, tls: secured } };
      }
    }
  }
}

/** Whether an address is this machine's own (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
