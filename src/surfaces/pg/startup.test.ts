import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { ProtocolError, readStartupPacket } from './protocol.ts';

/** An untyped packet: int32 length (counting itself), int32 code, body. */
function packet(code: number, body: Buffer = Buffer.alloc(0), length = body.length + 8): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(length, 0);
  head.writeUInt32BE(code, 4);
  return Buffer.concat([head, body]);
}

const pairs = (list: [string, string][]) => Buffer.from(`${list.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`);

function sqlstateOf(buf: Buffer): string {
  try {
    readStartupPacket(buf);
  } catch (err) {
    if (err instanceof ProtocolError) return err.sqlstate;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('startup packets', () => {
  it('reads a startup message as node-postgres sends it', () => {
    const bytes = serialize.startup({ user: 'agent', database: 'app', application_name: 'psql' });
    expect(readStartupPacket(Buffer.concat([bytes, Buffer.from('Q')]))).toEqual({
      packet: { type: 'startup', version: 196608, params: { user: 'agent', database: 'app', application_name: 'psql', client_encoding: 'UTF8' } },
      used: bytes.length,
    });
  });

  it('reads the SSL, GSSAPI and cancel requests', () => {
    expect(readStartupPacket(serialize.requestSsl())).toEqual({ packet: { type: 'ssl' }, used: 8 });
    expect(readStartupPacket(packet(80877104))).toEqual({ packet: { type: 'gssenc' }, used: 8 });
    const cancel = serialize.cancel(4242, -559038737);
    expect(readStartupPacket(cancel)).toEqual({ packet: { type: 'cancel', pid: 4242, secret: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, used: 16 });
    // Protocol 3.2 cancel keys are longer.
    const key = Buffer.alloc(32, 7);
    const long = Buffer.concat([packet(80877102, Buffer.concat([Buffer.from([0, 0, 0, 9]), key]))]);
    expect(readStartupPacket(long)).toEqual({ packet: { type: 'cancel', pid: 9, secret: key }, used: 44 });
  });

  it('takes any 3.x version and refuses other majors with 0A000', () => {
    const body = pairs([['user', 'u']]);
    expect(readStartupPacket(packet(196610, body))?.packet).toEqual({ type: 'startup', version: 196610, params: { user: 'u' } });
    expect(readStartupPacket(packet(3 << 16 | 9, body))?.packet).toMatchObject({ version: 196617 });
    for (const code of [2 << 16, 4 << 16, 1234 << 16 | 9999, 0]) expect(sqlstateOf(packet(code, body))).toBe('0A000');
  });

  it('needs more bytes until the whole packet is in, and says how many it used', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }).filter((k) => !k.includes('\0') && k !== 'client_encoding'), fc.string().map((v) => v.replaceAll('\0', ''))), (params) => {
        const bytes = Buffer.from(serialize.startup(params));
        for (let n = 0; n < bytes.length; n++) expect(readStartupPacket(bytes.subarray(0, n))).toBeNull();
        const read = readStartupPacket(Buffer.concat([bytes, Buffer.from([1, 2, 3])]));
        expect(read).toEqual({ packet: { type: 'startup', version: 196608, params: { ...params, client_encoding: 'UTF8' } }, used: bytes.length });
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a bad length as soon as the length is in', () => {
    for (const length of [0, 3, 7, -1, 10_001, 2 ** 31 - 1]) {
      const head = Buffer.alloc(4);
      head.writeInt32BE(length);
      expect(sqlstateOf(head)).toBe('08P01');
    }
    expect(sqlstateOf(packet(80877103, Buffer.alloc(4)))).toBe('08P01');
    expect(sqlstateOf(packet(80877102, Buffer.alloc(7)))).toBe('08P01');
    expect(sqlstateOf(packet(80877102, Buffer.alloc(4 + 257)))).toBe('08P01');
  });

  it('refuses parameters that are not NUL-terminated pairs ending in a NUL', () => {
    const bad = [
      Buffer.from('user\0agent\0'), // no final terminator
      Buffer.from('user\0agent'),
      Buffer.from('user\0\0'), // a name without its value
      Buffer.from('user\0a\0\0extra\0'),
      Buffer.from('user\0a\0user\0b\0\0'), // twice
    ];
    for (const body of bad) expect(sqlstateOf(packet(196608, body))).toBe('08P01');
    expect(sqlstateOf(packet(196608, Buffer.from([...Buffer.from('user\0'), 0xc3, 0x28, 0, 0])))).toBe('22021');
  });

  it('keeps a parameter named __proto__ as an own key', () => {
    const read = readStartupPacket(packet(196608, pairs([['__proto__', 'x'], ['user', 'u']])));
    const params = read?.packet.type === 'startup' ? read.packet.params : {};
    expect(Object.keys(params)).toEqual(['__proto__', 'user']);
    expect(params['__proto__']).toBe('x');
  });

  it('throws only ProtocolErrors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(196608, 196610, 80877102, 80877103), (bytes, code) => {
        // Random bytes alone, and random bytes behind a well-formed header.
        for (const buf of [Buffer.from(bytes), packet(code, Buffer.from(bytes))]) {
          try {
            readStartupPacket(buf);
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
