/**
 * The backend messages the gateway itself sends to a client, built with
 * pg-protocol's Writer. Everything else a client sees is relayed from the
 * upstream database as it came.
 */
import { Writer } from 'pg-protocol/dist/buffer-writer.js';

/** The fields of an ErrorResponse or NoticeResponse that the gateway writes. */
export interface NoticeFields {
  severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING' | 'INFO';
  /** The SQLSTATE, e.g. '42501'. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

const code = (c: string): number => c.charCodeAt(0);

/**
 * A NUL inside a string would end it early and the rest would be read as
 * further fields: it is replaced, so text that came from a client cannot
 * forge fields of a message the gateway writes.
 */
const safe = (s: string): string => (s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s);

const bare = (type: string): Buffer => new Writer().flush(code(type));

function fields(type: 'E' | 'N', f: NoticeFields): Buffer {
  const w = new Writer();
  // S is localized in PostgreSQL and V never is; the gateway writes English into both.
  const list: [string, string | undefined][] = [
    ['S', f.severity],
    ['V', f.severity],
    ['C', f.code],
    ['M', f.message],
    ['D', f.detail],
    ['H', f.hint],
  ];
  for (const [field, value] of list) if (value !== undefined) w.addString(field).addCString(safe(value));
  return w.addCString('').flush(code(type));
}

/**
 * Builders of whole backend messages, type byte and length included.
 *
 * @example
 * socket.write(backend.error({ severity: 'ERROR', code: '42501', message: 'denied by policy' }));
 * socket.write(backend.readyForQuery('I'));
 */
export const backend = {
  /** The answer to an SSLRequest or GSSENCRequest the gateway will not encrypt: one byte, no framing. */
  sslRefused: (): Buffer => Buffer.from('N'),
  /** The answer to an SSLRequest before the TLS handshake: one byte, no framing. */
  sslAccepted: (): Buffer => Buffer.from('S'),
  /** AuthenticationCleartextPassword. */
  authCleartext: (): Buffer => new Writer().addInt32(3).flush(code('R')),
  /** AuthenticationOk. */
  authOk: (): Buffer => new Writer().addInt32(0).flush(code('R')),
  parameterStatus: (name: string, value: string): Buffer =>
    new Writer().addCString(safe(name)).addCString(safe(value)).flush(code('S')),
  /** `secret` is 4 bytes in protocol 3.0, up to 256 in 3.2. */
  backendKeyData: (pid: number, secret: Buffer): Buffer => new Writer().addInt32(pid).add(secret).flush(code('K')),
  readyForQuery: (status: 'I' | 'T' | 'E'): Buffer => new Writer().addString(status).flush(code('Z')),
  error: (f: NoticeFields): Buffer => fields('E', f),
  notice: (f: NoticeFields): Buffer => fields('N', f),
  /** CommandComplete, e.g. 'SELECT 1' or 'INSERT 0 3'. */
  commandComplete: (tag: string): Buffer => new Writer().addCString(safe(tag)).flush(code('C')),
  emptyQuery: (): Buffer => bare('I'),
  parseComplete: (): Buffer => bare('1'),
  bindComplete: (): Buffer => bare('2'),
  closeComplete: (): Buffer => bare('3'),
  noData: (): Buffer => bare('n'),
  /**
   * NegotiateProtocolVersion: the newest minor version the gateway speaks
   * for major 3, and the `_pq_.` options of the startup packet it did not
   * recognise.
   */
  negotiateProtocolVersion: (minor: number, unrecognised: string[]): Buffer => {
    const w = new Writer().addInt32(minor).addInt32(unrecognised.length);
    for (const option of unrecognised) w.addCString(safe(option));
    return w.flush(code('v'));
  },
};
