/**
 * What the gateway reads from the upstream database. It relays most
 * backend messages as raw bytes; these split the stream into messages and
 * decode the few whose content it acts on. Text from the upstream is
 * decoded leniently (it is shown, never judged); structure is checked as
 * strictly as from a client, and a malformed message is a 08P01
 * ProtocolError.
 */
import { Cursor } from './cursor.ts';
import { ProtocolError, SQLSTATE, violation } from './errors.ts';
import { type Frame, Framer, maxMessageBytes } from './framer.ts';

export type BackendFrame = Frame;

/**
 * Splits upstream bytes into whole backend messages, chunk by chunk, with
 * the same length rules as FrontendReader (08P01 under 4, 54000 over
 * `maxMessageBytes`, thrown at the header). Any type byte passes: the
 * gateway relays what it does not read.
 *
 * @example
 * const framer = new BackendFramer();
 * framer.push(backend.readyForQuery('I')); // [{ type: 'Z', raw, body: <49> }]
 */
export class BackendFramer {
  private readonly framer: Framer;

  constructor(opts: { maxMessageBytes?: number } = {}) {
    const max = maxMessageBytes(opts);
    this.framer = new Framer({
      type() {},
      length(_code, length) {
        if (length > max) {
          throw new ProtocolError(SQLSTATE.programLimitExceeded, `upstream message of ${length} bytes is over the limit of ${max}`);
        }
      },
    });
  }

  push(chunk: Buffer): BackendFrame[] {
    return this.framer.push(chunk);
  }
}

/**
 * The transaction status of a ReadyForQuery body.
 *
 * @example
 * readyStatus(Buffer.from('T')); // 'T'
 */
export function readyStatus(body: Buffer): 'I' | 'T' | 'E' {
  const c = new Cursor(body, 'upstream ReadyForQuery', false);
  const status = String.fromCharCode(c.byte('status'));
  c.end();
  if (status !== 'I' && status !== 'T' && status !== 'E') throw violation(`upstream ReadyForQuery: unknown status "${status}"`);
  return status;
}

/**
 * The tag of a CommandComplete body.
 *
 * @example
 * commandTag(Buffer.from('INSERT 0 1\0')); // 'INSERT 0 1'
 */
export function commandTag(body: Buffer): string {
  const c = new Cursor(body, 'upstream CommandComplete', false);
  const tag = c.cstring('tag');
  c.end();
  return tag;
}

/**
 * The fields of an ErrorResponse or NoticeResponse body, keyed by field
 * character ('S', 'V', 'C', 'M', 'D', 'H', 'P', ...). No prototype, so any
 * field character is an own key.
 *
 * @example
 * noticeFields(Buffer.from('SERROR\0C42P01\0Mno such table\0\0')); // { S: 'ERROR', C: '42P01', M: 'no such table' }
 */
export function noticeFields(body: Buffer): Record<string, string> {
  const c = new Cursor(body, 'upstream ErrorResponse/NoticeResponse', false);
  const out: Record<string, string> = Object.create(null);
  for (let field = c.byte('field type'); field !== 0; field = c.byte('field type')) {
    out[String.fromCharCode(field)] = c.cstring('field value');
  }
  c.end();
  return out;
}

/**
 * The name and value of a ParameterStatus body.
 *
 * @example
 * parameterStatus(Buffer.from('TimeZone\0UTC\0')); // { name: 'TimeZone', value: 'UTC' }
 */
export function parameterStatus(body: Buffer): { name: string; value: string } {
  const c = new Cursor(body, 'upstream ParameterStatus', false);
  const name = c.cstring('name');
  const value = c.cstring('value');
  c.end();
  return { name, value };
}

/**
 * The process id and cancel key of a BackendKeyData body (a 4-byte key in
 * protocol 3.0, up to 256 bytes in 3.2).
 *
 * @example
 * backendKeyData(Buffer.from([0, 0, 0, 7, 1, 2, 3, 4])); // { pid: 7, secret: <01 02 03 04> }
 */
export function backendKeyData(body: Buffer): { pid: number; secret: Buffer } {
  const c = new Cursor(body, 'upstream BackendKeyData', false);
  const pid = c.int32('process id');
  if (c.remaining < 4 || c.remaining > 256) throw violation(`upstream BackendKeyData: cancel key of ${c.remaining} bytes`);
  return { pid, secret: Buffer.from(c.rest()) };
}

export type AuthRequest =
  | { type: 'ok' }
  | { type: 'cleartext' }
  | { type: 'md5'; salt: Buffer }
  | { type: 'sasl'; mechanisms: string[] }
  | { type: 'saslContinue'; data: Buffer }
  | { type: 'saslFinal'; data: Buffer }
  /** Kerberos, GSSAPI, SSPI and any code to come: the gateway does not take part in them. */
  | { type: 'other'; code: number };

/**
 * The request of an Authentication ('R') body.
 *
 * @example
 * authRequest(Buffer.from([0, 0, 0, 10, ...Buffer.from('SCRAM-SHA-256\0\0')])); // { type: 'sasl', mechanisms: ['SCRAM-SHA-256'] }
 */
export function authRequest(body: Buffer): AuthRequest {
  const c = new Cursor(body, 'upstream Authentication', false);
  const code = c.int32('request code');
  let out: AuthRequest;
  switch (code) {
    case 0:
      out = { type: 'ok' };
      break;
    case 3:
      out = { type: 'cleartext' };
      break;
    case 5:
      out = { type: 'md5', salt: Buffer.from(c.bytes(4, 'salt')) };
      break;
    case 10: {
      const mechanisms: string[] = [];
      for (let m = c.cstring('mechanism'); m !== ''; m = c.cstring('mechanism')) mechanisms.push(m);
      out = { type: 'sasl', mechanisms };
      break;
    }
    case 11:
    case 12:
      return { type: code === 11 ? 'saslContinue' : 'saslFinal', data: Buffer.from(c.rest()) };
    default:
      return { type: 'other', code };
  }
  c.end();
  return out;
}
