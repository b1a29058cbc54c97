/**
 * The PostgreSQL wire protocol (version 3) as the listener speaks it, as
 * data: bytes in, decoded messages out; messages to send are built as
 * bytes. No sockets here: the listener feeds socket chunks in and writes
 * what comes out.
 *
 * Every decoded frontend message carries `raw`, its exact bytes, so that
 * what is forwarded upstream is byte for byte what was judged. Strings are
 * UTF-8 (the listener pins client_encoding) and are decoded strictly.
 *
 * This file decodes the frontend messages of an authenticated session, and
 * is the module's entry: startup.ts reads the packets before it,
 * backend.ts builds what the gateway sends, upstream.ts reads what the
 * upstream database sends.
 */
import { Cursor } from './cursor.ts';
import { ProtocolError, SQLSTATE, violation } from './errors.ts';
import { type Frame, Framer, maxMessageBytes, printable } from './framer.ts';

export { DEFAULT_MAX_MESSAGE_BYTES } from './framer.ts';
export { ProtocolError, SQLSTATE } from './errors.ts';
export { readStartupPacket, STARTUP_PACKET_LIMIT, PROTOCOL_3_0, PROTOCOL_3_2, type StartupPacket } from './startup.ts';
export { backend, type NoticeFields } from './backend.ts';
export {
  BackendFramer,
  readyStatus,
  commandTag,
  noticeFields,
  parameterStatus,
  backendKeyData,
  authRequest,
  type BackendFrame,
  type AuthRequest,
} from './upstream.ts';

/** PostgreSQL's PQ_SMALL_MESSAGE_LIMIT, for the types that never need more. */
const SMALL_MESSAGE_LIMIT = 10_000;

/**
 * A frontend message of an authenticated session (or, for 'p', of its
 * authentication), decoded. `raw` is its exact bytes, type byte and length
 * included, owned by the message: forward `raw`, never a re-encoding.
 */
export type FrontendMessage =
  | { type: 'query'; sql: string; raw: Buffer }
  | { type: 'parse'; name: string; sql: string; paramTypes: number[]; raw: Buffer }
  | {
      type: 'bind';
      portal: string;
      statement: string;
      paramFormats: number[];
      params: (Buffer | null)[];
      resultFormats: number[];
      raw: Buffer;
    }
  | { type: 'describe'; kind: 'S' | 'P'; name: string; raw: Buffer }
  | { type: 'execute'; portal: string; maxRows: number; raw: Buffer }
  | { type: 'close'; kind: 'S' | 'P'; name: string; raw: Buffer }
  | { type: 'sync'; raw: Buffer }
  | { type: 'flush'; raw: Buffer }
  | { type: 'terminate'; raw: Buffer }
  | { type: 'password'; data: Buffer; raw: Buffer }
  | { type: 'copyData'; data: Buffer; raw: Buffer }
  | { type: 'copyDone'; raw: Buffer }
  | { type: 'copyFail'; message: string; raw: Buffer }
  | { type: 'functionCall'; raw: Buffer };

/** Frontend type bytes, and whether PostgreSQL caps the type at SMALL_MESSAGE_LIMIT (postgres.c, SocketBackend). */
const TYPES: ReadonlyMap<number, boolean> = new Map<number, boolean>([
  ...[...'QPBFdp'].map((t): [number, boolean] => [t.charCodeAt(0), false]),
  ...[...'DECSHXcf'].map((t): [number, boolean] => [t.charCodeAt(0), true]),
]);

/**
 * Frames and decodes the frontend messages of a session, chunk by chunk.
 *
 * A push that meets anything malformed throws a ProtocolError and returns
 * none of that push's messages; the reader then stays failed (every later
 * push throws the same error). The caller sends a FATAL ErrorResponse with
 * the error's sqlstate and closes the connection. Codes: 08P01 for a bad
 * type byte, length or layout; 54000 for a declared length over
 * `maxMessageBytes` (thrown at the header, before the body is kept);
 * 22021 for a string that is not UTF-8; 22023 for a format code not 0 or 1.
 *
 * @example
 * const reader = new FrontendReader();
 * reader.push(serialize.query('select 1')); // [{ type: 'query', sql: 'select 1', raw }]
 */
export class FrontendReader {
  private readonly framer: Framer;
  private failure: ProtocolError | undefined;

  /** `maxMessageBytes` caps a message's declared length, which counts itself and the body (not the type byte). */
  constructor(opts: { maxMessageBytes?: number } = {}) {
    const max = maxMessageBytes(opts);
    this.framer = new Framer({
      type(code) {
        if (!TYPES.has(code)) throw violation(`invalid frontend message type "${printable(code)}"`);
      },
      length(code, length) {
        if (length > max) {
          throw new ProtocolError(SQLSTATE.programLimitExceeded, `message of ${length} bytes is over the limit of ${max}`);
        }
        if (TYPES.get(code) && length > SMALL_MESSAGE_LIMIT) {
          throw violation(`invalid message length ${length} for message type "${printable(code)}"`);
        }
      },
    });
  }

  push(chunk: Buffer): FrontendMessage[] {
    if (this.failure) throw this.failure;
    try {
      return this.framer.push(chunk).map(decode);
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }
}

/** One framed message's fields (PostgreSQL's protocol-message-formats). */
function decode({ type, raw, body }: Frame): FrontendMessage {
  switch (type) {
    case 'Q': {
      const c = new Cursor(body, 'Query message');
      const sql = c.cstring('query string');
      c.end();
      return { type: 'query', sql, raw };
    }
    case 'P': {
      const c = new Cursor(body, 'Parse message');
      const name = c.cstring('statement name');
      const sql = c.cstring('query string');
      const count = c.uint16('parameter type count');
      c.need(count * 4, 'parameter types');
      const paramTypes = Array.from({ length: count }, () => c.uint32('parameter type'));
      c.end();
      return { type: 'parse', name, sql, paramTypes, raw };
    }
    case 'B':
      return decodeBind(raw, body);
    case 'D':
    case 'C': {
      const what = type === 'D' ? 'Describe' : 'Close';
      const c = new Cursor(body, `${what} message`);
      const kind = String.fromCharCode(c.byte('kind'));
      if (kind !== 'S' && kind !== 'P') throw violation(`invalid ${what.toUpperCase()} message subtype "${kind}"`);
      const name = c.cstring('name');
      c.end();
      return { type: type === 'D' ? 'describe' : 'close', kind, name, raw };
    }
    case 'E': {
      const c = new Cursor(body, 'Execute message');
      const portal = c.cstring('portal name');
      const maxRows = c.int32('row limit');
      c.end();
      return { type: 'execute', portal, maxRows, raw };
    }
    case 'S':
      return { type: empty(body, 'sync', 'Sync'), raw };
    case 'H':
      return { type: empty(body, 'flush', 'Flush'), raw };
    case 'X':
      return { type: empty(body, 'terminate', 'Terminate'), raw };
    case 'c':
      return { type: empty(body, 'copyDone', 'CopyDone'), raw };
    case 'p':
      return { type: 'password', data: body, raw };
    case 'd':
      return { type: 'copyData', data: body, raw };
    case 'f': {
      const c = new Cursor(body, 'CopyFail message');
      const message = c.cstring('error message');
      c.end();
      return { type: 'copyFail', message, raw };
    }
    case 'F':
      return { type: 'functionCall', raw };
  }
  // The framer lets through only the types above.
  throw violation(`invalid frontend message type "${type}"`);
}

function empty<T extends string>(body: Buffer, type: T, what: string): T {
  new Cursor(body, `${what} message`).end();
  return type;
}

function decodeBind(raw: Buffer, body: Buffer): FrontendMessage {
  const c = new Cursor(body, 'Bind message');
  const portal = c.cstring('portal name');
  const statement = c.cstring('statement name');
  const paramFormats = formats(c, 'parameter');
  const count = c.uint16('parameter count');
  c.need(count * 4, 'parameter values');
  const params = Array.from({ length: count }, () => {
    const length = c.int32('parameter length');
    return length === -1 ? null : c.bytes(length, 'parameter value');
  });
  // How the caller reads each parameter (text or binary) hangs on this: postgres.c refuses the same.
  if (paramFormats.length > 1 && paramFormats.length !== count) {
    throw violation(`bind message has ${paramFormats.length} parameter formats but ${count} parameters`);
  }
  const resultFormats = formats(c, 'result');
  c.end();
  return { type: 'bind', portal, statement, paramFormats, params, resultFormats, raw };
}

function formats(c: Cursor, what: string): number[] {
  const count = c.uint16(`${what} format count`);
  c.need(count * 2, `${what} format codes`);
  return Array.from({ length: count }, () => {
    const format = c.int16(`${what} format code`);
    if (format !== 0 && format !== 1) {
      throw new ProtocolError(SQLSTATE.invalidParameterValue, `unsupported ${what} format code: ${format}`);
    }
    return format;
  });
}
