/**
 * A fake PostgreSQL server on 127.0.0.1 that speaks the startup exchange
 * the way a real one does: it answers an SSLRequest (with TLS when given a
 * certificate), reads the StartupMessage, asks for a password in cleartext,
 * as MD5 or with SCRAM-SHA-256 (server side of RFC 5802/7677, checking the
 * client's proof against the password), then sends ParameterStatus,
 * BackendKeyData and ReadyForQuery. It stands in for the password-checking
 * paths the shared test server (trust for 127.0.0.1) never takes.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Writer } from 'pg-protocol/dist/buffer-writer.js';

export type FakeAuth = 'cleartext' | 'md5' | 'scram' | 'gss';

export interface FakePostgresOptions {
  auth: FakeAuth;
  password: string;
  /** Answer an SSLRequest with 'S' and this certificate; 'N' without. */
  tls?: { key: Buffer | string; cert: Buffer | string };
  /** Bytes written in the same write as the first ReadyForQuery. */
  afterReady?: Buffer;
  /** Send AuthenticationOk without SCRAM's server-final message. */
  skipScramFinal?: boolean;
  /** Over TLS, offer SCRAM-SHA-256-PLUS and check the client's tls-server-end-point binding (RFC 5929 §4.1). */
  channelBinding?: boolean;
}

export interface FakeStartup {
  params: Record<string, string>;
  tls: boolean;
  /** SCRAM's GS2 header as the client sent it (n,, y,, or p=…). */
  gs2?: string;
}

export interface FakePostgres {
  port: number;
  startups: FakeStartup[];
  cancels: { pid: number; secret: number }[];
  close(): Promise<void>;
}

/** Starts the fake; `url` it with any user and the password to check. */
export async function startFakePostgres(o: FakePostgresOptions): Promise<FakePostgres> {
  const startups: FakeStartup[] = [];
  const cancels: { pid: number; secret: number }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    serve(socket, o, startups, cancels).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    startups,
    cancels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads length-prefixed frontend packets (typed or, for the first, untyped). */
class Reader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  constructor(private socket: net.Socket) {
    this.attach(socket);
  }
  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }
  async bytes(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error('closed');
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async untyped(): Promise<Buffer> {
    const len = (await this.bytes(4)).readInt32BE(0);
    return this.bytes(len - 4);
  }
  async typed(): Promise<{ type: string; body: Buffer }> {
    const head = await this.bytes(5);
    return { type: String.fromCharCode(head[0] ?? 0), body: await this.bytes(head.readInt32BE(1) - 4) };
  }
  get current(): net.Socket {
    return this.socket;
  }
}

async function serve(plain: net.Socket, o: FakePostgresOptions, startups: FakeStartup[], cancels: { pid: number; secret: number }[]): Promise<void> {
  let socket: net.Socket = plain;
  let reader = new Reader(plain);
  let packet = await reader.untyped();
  let encrypted = false;
  if (packet.readInt32BE(0) === 80877103) {
    if (!o.tls) {
      socket.write('N');
    } else {
      plain.removeAllListeners('data');
      plain.removeAllListeners('close');
      socket.write('S');
      const secure = new tls.TLSSocket(plain, { isServer: true, key: o.tls.key, cert: o.tls.cert });
      secure.on('error', () => {});
      socket = secure;
      reader = new Reader(secure);
      encrypted = true;
    }
    packet = await reader.untyped();
  }
  if (packet.readInt32BE(0) === 80877102) {
    cancels.push({ pid: packet.readInt32BE(4), secret: packet.readInt32BE(8) });
    socket.end();
    return;
  }
  const fields = packet.subarray(4).toString('utf8').split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length && fields[i]; i += 2) params[fields[i] as string] = fields[i + 1] as string;
  const startup: FakeStartup = { params, tls: encrypted };
  startups.push(startup);
  const user = params['user'] ?? '';

  const auth = (code: number, extra?: Buffer | string): Buffer => {
    const w = new Writer().addInt32(code);
    if (extra !== undefined) w.add(Buffer.from(extra));
    return w.flush(0x52);
  };
  const refuse = (): void => {
    const w = new Writer().addString('S').addCString('FATAL').addString('C').addCString('28P01');
    w.addString('M').addCString(`password authentication failed for user "${user}"`).addCString('');
    socket.end(w.flush(0x45));
  };

  if (o.auth === 'gss') {
    socket.write(auth(7));
    return;
  } else if (o.auth === 'cleartext') {
    socket.write(auth(3));
    const { body } = await reader.typed();
    if (body.subarray(0, -1).toString('utf8') !== o.password) return refuse();
  } else if (o.auth === 'md5') {
    const salt = randomBytes(4);
    socket.write(auth(5, salt));
    const { body } = await reader.typed();
    const inner = createHash('md5').update(o.password + user).digest('hex');
    const expected = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
    if (body.subarray(0, -1).toString('utf8') !== expected) return refuse();
  } else {
    if (!(await scram(socket, reader, o, startup, auth))) return refuse();
  }
  socket.write(auth(0));
  const status = (name: string, value: string): Buffer => new Writer().addCString(name).addCString(value).flush(0x53);
  const ready = new Writer().addString('I').flush(0x5a);
  socket.write(
    Buffer.concat([
      status('server_version', '15.0 (fake)'),
      status('client_encoding', 'UTF8'),
      new Writer().addInt32(4242).addInt32(77).flush(0x4b),
      ready,
      o.afterReady ?? Buffer.alloc(0),
    ]),
  );
  for (;;) {
    const { type } = await reader.typed();
    if (type === 'X') return void socket.end();
  }
}

/** SCRAM-SHA-256, server side (RFC 5802 §3): true when the client proved it knows the password. */
async function scram(
  socket: net.Socket,
  reader: Reader,
  o: FakePostgresOptions,
  startup: FakeStartup,
  auth: (code: number, extra?: Buffer | string) => Buffer,
): Promise<boolean> {
  const plus = o.channelBinding === true && socket instanceof tls.TLSSocket;
  socket.write(auth(10, plus ? 'SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0' : 'SCRAM-SHA-256\0\0'));
  const first = await reader.typed();
  const mechEnd = first.body.indexOf(0);
  const clientFirst = first.body.subarray(mechEnd + 5).toString('utf8');
  const bareAt = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1) + 1;
  startup.gs2 = clientFirst.slice(0, bareAt);
  const bare = clientFirst.slice(bareAt);
  const clientNonce = /r=([^,]+)/.exec(bare)?.[1] ?? '';
  const salt = randomBytes(16);
  const serverFirst = `r=${clientNonce}${randomBytes(18).toString('base64')},s=${salt.toString('base64')},i=4096`;
  socket.write(auth(11, serverFirst));
  const final = (await reader.typed()).body.toString('utf8');
  const proofAt = final.lastIndexOf(',p=');
  const withoutProof = final.slice(0, proofAt);
  const proof = Buffer.from(final.slice(proofAt + 3), 'base64');
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  if (plus && o.tls) {
    // The binding is the hash of the server's certificate (SHA-256 for a SHA-256-signed one), after the GS2 header.
    const der = new X509Certificate(o.tls.cert).raw;
    const binding = Buffer.concat([Buffer.from(startup.gs2 ?? ''), createHash('sha256').update(der).digest()]).toString('base64');
    if (!withoutProof.startsWith(`c=${binding},`)) return false;
  }
  const salted = pbkdf2Sync(o.password, salt, 4096, 32, 'sha256');
  const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const signature = hmac(storedKey, authMessage);
  if (proof.length !== signature.length) return false;
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
  if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey)) return false;
  if (!o.skipScramFinal) socket.write(auth(12, `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`));
  return true;
}
