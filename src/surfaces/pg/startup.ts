/**
 * The packets a client sends before it is authenticated. They have no type
 * byte: an int32 length that counts itself, an int32 code, the body
 * (PostgreSQL's ProcessStartupPacket, src/backend/tcop/backend_startup.c).
 */
import { Cursor } from './cursor.ts';
import { ProtocolError, SQLSTATE, violation } from './errors.ts';

/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
export const STARTUP_PACKET_LIMIT = 10_000;
/** Protocol 3.0, which every client speaks. */
export const PROTOCOL_3_0 = 196608;
/** Protocol 3.2 (PostgreSQL 18): longer cancel keys. The newest there is. */
export const PROTOCOL_3_2 = 196610;

const CANCEL_CODE = 80877102; // 1234 << 16 | 5678
const SSL_CODE = 80877103; // 1234 << 16 | 5679
const GSSENC_CODE = 80877104; // 1234 << 16 | 5680
/** Protocol 3.0 cancel keys are 4 bytes; 3.2 allows up to 256 (MAX_CANCEL_KEY_LENGTH). */
const CANCEL_KEY_MIN = 4;
const CANCEL_KEY_MAX = 256;

/** A packet before authentication; `version` is the int32 as sent (major << 16 | minor). */
export type StartupPacket =
  | { type: 'ssl' }
  | { type: 'gssenc' }
  | { type: 'cancel'; pid: number; secret: Buffer }
  | { type: 'startup'; version: number; params: Record<string, string> };

/**
 * The first packet in `buf` and how many bytes it used, or null when more
 * bytes are needed. A bad length throws as soon as the 4 length bytes are
 * in, before the rest arrives.
 *
 * Bytes after an SSL or GSSAPI request must not be read as part of the
 * encrypted session that follows (CVE-2021-23214): the caller refuses the
 * connection when `used` is less than what it has buffered at that point.
 *
 * Any 3.x version is accepted and reported as it came (3.0 = 196608,
 * 3.2 = 196610), as PostgreSQL does: for a minor it does not speak, or
 * `_pq_.` options, the caller answers with backend.negotiateProtocolVersion.
 *
 * @throws ProtocolError 08P01 for a bad length or layout, 0A000 for a major
 * version other than 3, 22021 for a name or value that is not UTF-8.
 * @example
 * readStartupPacket(serialize.requestSsl()); // { packet: { type: 'ssl' }, used: 8 }
 * readStartupPacket(Buffer.from([0, 0])); // null
 */
export function readStartupPacket(buf: Buffer): { packet: StartupPacket; used: number } | null {
  if (buf.length < 4) return null;
  const length = buf.readInt32BE(0);
  if (length < 8 || length > STARTUP_PACKET_LIMIT) throw violation(`invalid length of startup packet: ${length}`);
  if (buf.length < length) return null;
  const code = buf.readUInt32BE(4);
  const used = length;
  switch (code) {
    case SSL_CODE:
    case GSSENC_CODE:
      if (length !== 8) throw violation(`invalid length of ${code === SSL_CODE ? 'SSL' : 'GSSAPI encryption'} request: ${length}`);
      return { packet: { type: code === SSL_CODE ? 'ssl' : 'gssenc' }, used };
    case CANCEL_CODE: {
      const keyLength = length - 12;
      if (keyLength < CANCEL_KEY_MIN || keyLength > CANCEL_KEY_MAX) {
        throw violation(`invalid length of cancel request packet: ${length}`);
      }
      return { packet: { type: 'cancel', pid: buf.readInt32BE(8), secret: Buffer.from(buf.subarray(12, length)) }, used };
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    throw new ProtocolError(
      SQLSTATE.featureNotSupported,
      `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.2`,
    );
  }
  return { packet: { type: 'startup', version: code, params: readParams(buf.subarray(8, length)) }, used };
}

/** Name/value pairs, each a NUL-terminated string, the list ended by one more NUL. */
function readParams(body: Buffer): Record<string, string> {
  if (body[body.length - 1] !== 0) throw violation('invalid startup packet layout: expected terminator as last byte');
  // No prototype: a parameter named "__proto__" is an own key like any other.
  const params: Record<string, string> = Object.create(null);
  const c = new Cursor(body, 'startup packet');
  for (let name = c.cstring('parameter name'); name !== ''; name = c.cstring('parameter name')) {
    const value = c.cstring(`value of parameter "${name}"`);
    // Two values for one name would leave which one counts to whoever reads the packet last.
    if (Object.hasOwn(params, name)) throw violation(`invalid startup packet layout: parameter "${name}" given twice`);
    params[name] = value;
  }
  c.end();
  return params;
}
