import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { FrontendReader, type FrontendMessage, ProtocolError } from './protocol.ts';

/** Raw bytes of a typed message: type char, int32 length, body. */
function message(type: string, body: Buffer | number[], length = (Array.isArray(body) ? body.length : body.length) + 4): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(length, 1);
  return Buffer.concat([head, Buffer.from(body)]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`);
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** What a reader yields for `bytes` pushed in pieces cut at `cuts`. */
function decodeIn(bytes: Buffer, cuts: number[], opts?: { maxMessageBytes?: number }): FrontendMessage[] {
  const reader = new FrontendReader(opts);
  const out: FrontendMessage[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(bytes.length)) {
    out.push(...reader.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return out;
}

function errorOf(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

const pushing = (bytes: Buffer, opts?: { maxMessageBytes?: number }) => () => new FrontendReader(opts).push(bytes);

const text = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replaceAll('\0', ''));
const bytes = fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a));
const built = fc.oneof(
  text.map((sql) => ({ bytes: serialize.query(sql), fields: { type: 'query', sql } })),
  fc.record({ name: text, sql: text, types: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 3 }) }).map(({ name, sql, types }) => ({
    bytes: serialize.parse({ name, text: sql, types }),
    fields: { type: 'parse', name, sql, paramTypes: types },
  })),
  fc
    .record({ portal: text, statement: text, values: fc.array(fc.oneof(text, bytes, fc.constant(null)), { maxLength: 3 }), binary: fc.boolean() })
    .map(({ portal, statement, values, binary }) => ({
      bytes: serialize.bind({ portal, statement, values, binary }),
      fields: {
        type: 'bind',
        portal,
        statement,
        paramFormats: values.map((v) => (Buffer.isBuffer(v) ? 1 : 0)),
        params: values.map((v) => (v === null ? null : Buffer.from(v))),
        resultFormats: [binary ? 1 : 0],
      },
    })),
  fc.record({ kind: fc.constantFrom('S' as const, 'P' as const), name: text, close: fc.boolean() }).map(({ kind, name, close }) => ({
    bytes: close ? serialize.close({ type: kind, name }) : serialize.describe({ type: kind, name }),
    fields: { type: close ? 'close' : 'describe', kind, name },
  })),
  fc.record({ portal: text, rows: fc.nat() }).map(({ portal, rows }) => ({
    bytes: serialize.execute({ portal, rows }),
    fields: { type: 'execute', portal, maxRows: rows },
  })),
  fc.constantFrom(
    { bytes: serialize.sync(), fields: { type: 'sync' } },
    { bytes: serialize.flush(), fields: { type: 'flush' } },
    { bytes: serialize.end(), fields: { type: 'terminate' } },
    { bytes: serialize.copyDone(), fields: { type: 'copyDone' } },
  ),
  bytes.map((data) => ({ bytes: serialize.copyData(data), fields: { type: 'copyData', data } })),
  text.map((m) => ({ bytes: serialize.copyFail(m), fields: { type: 'copyFail', message: m } })),
  text.map((p) => ({ bytes: serialize.password(p), fields: { type: 'password', data: cstr(p) } })),
).map(({ bytes, fields }) => ({ bytes: Buffer.from(bytes), fields }));

describe('frontend messages serialized by pg-protocol', () => {
  it('decode to the fields they were built from, each with its exact bytes', () => {
    const cases: [Buffer, object][] = [
      [serialize.query('select 1'), { type: 'query', sql: 'select 1' }],
      [serialize.parse({ name: 's1', text: 'select $1::int', types: [23, 4294967295] }), { type: 'parse', name: 's1', sql: 'select $1::int', paramTypes: [23, 4294967295] }],
      [
        serialize.bind({ portal: 'p', statement: 's1', values: ['42', null, Buffer.from([1, 2])], binary: true }),
        { type: 'bind', portal: 'p', statement: 's1', paramFormats: [0, 0, 1], params: [Buffer.from('42'), null, Buffer.from([1, 2])], resultFormats: [1] },
      ],
      [serialize.describe({ type: 'S', name: 's1' }), { type: 'describe', kind: 'S', name: 's1' }],
      [serialize.describe({ type: 'P' }), { type: 'describe', kind: 'P', name: '' }],
      [serialize.execute({ portal: 'p', rows: 10 }), { type: 'execute', portal: 'p', maxRows: 10 }],
      [serialize.execute(), { type: 'execute', portal: '', maxRows: 0 }],
      [serialize.close({ type: 'P', name: 'p' }), { type: 'close', kind: 'P', name: 'p' }],
      [serialize.sync(), { type: 'sync' }],
      [serialize.flush(), { type: 'flush' }],
      [serialize.end(), { type: 'terminate' }],
      [serialize.password('hunter2'), { type: 'password', data: cstr('hunter2') }],
      [serialize.copyData(Buffer.from('1\tx\n')), { type: 'copyData', data: Buffer.from('1\tx\n') }],
      [serialize.copyDone(), { type: 'copyDone' }],
      [serialize.copyFail('client gave up'), { type: 'copyFail', message: 'client gave up' }],
      [message('F', [0, 0, 0, 1]), { type: 'functionCall' }],
    ];
    for (const [bytes, fields] of cases) {
      // The serializer reuses its buffer: copy before the next call can change it.
      const copy = Buffer.from(bytes);
      expect(new FrontendReader().push(copy)).toEqual([{ ...fields, raw: copy }]);
    }
  });

  it('keeps a SASL initial response as bytes for the caller to read', () => {
    const bytes = Buffer.from(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'));
    const [msg] = new FrontendReader().push(bytes);
    expect(msg).toEqual({ type: 'password', data: bytes.subarray(5), raw: bytes });
  });

  it('keeps SQL text exactly, multi-byte characters and a byte order mark included', () => {
    const sql = '\uFEFFselect \'Grüße 😀\' -- é';
    expect(new FrontendReader().push(Buffer.from(serialize.query(sql)))).toMatchObject([{ sql }]);
  });

  it('decode the same whatever the chunks: a run of messages split at every point', () => {
    fc.assert(
      fc.property(fc.array(built, { minLength: 1, maxLength: 3 }), (msgs) => {
        const all = Buffer.concat(msgs.map((m) => m.bytes));
        const expected = msgs.map((m) => ({ ...m.fields, raw: m.bytes }));
        // expect's deep equality costs more than the decoding, at every cut of every run: it reports only a difference.
        for (let cut = 0; cut <= all.length; cut++) {
          const decoded = decodeIn(all, [cut]);
          if (!isDeepStrictEqual(decoded, expected)) expect(decoded, `cut at ${cut}`).toEqual(expected);
        }
        expect(decodeIn(all, Array.from(all.keys()))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('gathers a large message from many chunks into exactly its bytes', () => {
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const bytes = Buffer.concat([Buffer.from(serialize.copyData(data)), Buffer.from(serialize.copyDone())]);
    const cuts = Array.from({ length: Math.floor(bytes.length / 997) }, (_, i) => (i + 1) * 997);
    const [copy, done, ...more] = decodeIn(bytes, cuts);
    // Buffer.equals: a deep equality over a megabyte takes vitest many seconds.
    expect(copy?.type === 'copyData' && copy.data.equals(data) && copy.raw.equals(bytes.subarray(0, -5))).toBe(true);
    expect([done?.type, more]).toEqual(['copyDone', []]);
  });

  it('decode the same in random pieces', () => {
    fc.assert(
      fc.property(fc.array(built, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (msgs, cuts) => {
        const all = Buffer.concat(msgs.map((m) => m.bytes));
        const expected = msgs.map((m) => ({ ...m.fields, raw: m.bytes }));
        expect(decodeIn(all, cuts.map((c) => c % (all.length + 1)))).toEqual(expected);
      }),
    );
  });
});

describe('malformed frontend input', () => {
  it('refuses a length under 4, negative, or over the limit, at the header', () => {
    for (const length of [0, 1, 2, 3, -1, -(2 ** 31)]) {
      expect(errorOf(pushing(message('Q', [], length))).sqlstate).toBe('08P01');
    }
    expect(errorOf(pushing(message('Q', [], 2 ** 31 - 1))).sqlstate).toBe('54000');
    expect(errorOf(pushing(message('Q', [], 101), { maxMessageBytes: 100 })).sqlstate).toBe('54000');
    expect(new FrontendReader({ maxMessageBytes: 100 }).push(message('Q', cstr('x'.repeat(95))))).toHaveLength(1);
  });

  it('refuses a huge declared length arriving a byte at a time as soon as its header is in', () => {
    const reader = new FrontendReader();
    const header = message('Q', [], 2 ** 31 - 1);
    for (const byte of header.subarray(0, 4)) expect(reader.push(Buffer.from([byte]))).toEqual([]);
    const err = errorOf(() => reader.push(header.subarray(4, 5)));
    expect(err).toMatchObject({ sqlstate: '54000', message: expect.stringContaining('2147483647') });
  });

  it('takes a limit from 4 bytes to the largest int32, and nothing else', () => {
    for (const max of [0, 3, 2 ** 31, 1.5, Number.NaN]) expect(() => new FrontendReader({ maxMessageBytes: max })).toThrow(RangeError);
    expect(new FrontendReader({ maxMessageBytes: 4 }).push(Buffer.from(serialize.sync()))).toMatchObject([{ type: 'sync' }]);
  });

  it('refuses an unknown type byte as soon as it arrives', () => {
    expect(errorOf(pushing(Buffer.from('A'))).sqlstate).toBe('08P01');
    expect(errorOf(pushing(Buffer.concat([serialize.sync(), Buffer.from([0])]))).message).toMatch(/type "\\x00"/);
  });

  it('caps the types PostgreSQL caps at 10,000 bytes', () => {
    expect(errorOf(pushing(message('S', [], 10_001))).sqlstate).toBe('08P01');
    expect(errorOf(pushing(message('E', [], 10_001))).sqlstate).toBe('08P01');
    // A Query may be longer: its header passes and the reader waits for the rest.
    expect(new FrontendReader().push(message('Q', [], 10_001))).toEqual([]);
  });

  it('refuses strings without their NUL and bytes after the last field', () => {
    const bad = [
      message('Q', Buffer.from('select 1')),
      message('Q', Buffer.concat([cstr('select 1'), Buffer.from('x')])),
      message('P', Buffer.concat([cstr('s'), Buffer.from('select 1')])),
      message('E', cstr('portal')),
      message('D', Buffer.from('Sname')),
      message('f', Buffer.from('no nul')),
      message('S', [0]),
      message('X', [0]),
      message('c', [1]),
    ];
    for (const bytes of bad) expect(errorOf(pushing(bytes)).sqlstate).toBe('08P01');
  });

  it('refuses counts that run past the body', () => {
    const bad = [
      message('P', Buffer.concat([cstr(''), cstr('select 1'), int16(65535), int32(23)])),
      message('B', Buffer.concat([cstr(''), cstr(''), int16(0), int16(1000), int32(1), Buffer.from('x')])),
      message('B', Buffer.concat([cstr(''), cstr(''), int16(0), int16(1), int32(2 ** 31 - 1), Buffer.from('x')])),
      message('B', Buffer.concat([cstr(''), cstr(''), int16(0), int16(1), int32(-2), int16(0)])),
      message('B', Buffer.concat([cstr(''), cstr(''), int16(50), int16(0)])),
      message('B', Buffer.concat([cstr(''), cstr(''), int16(0), int16(0), int16(3), int16(0)])),
    ];
    for (const bytes of bad) expect(errorOf(pushing(bytes)).sqlstate).toBe('08P01');
  });

  it('refuses a Bind whose format codes do not match its parameters or are not 0 or 1', () => {
    const bind = (formats: number[], values: number) =>
      message('B', Buffer.concat([cstr(''), cstr(''), int16(formats.length), ...formats.map(int16), int16(values), ...Array.from({ length: values }, () => int32(-1)), int16(0)]));
    expect(errorOf(pushing(bind([0, 0], 3))).sqlstate).toBe('08P01');
    expect(errorOf(pushing(bind([2], 1))).sqlstate).toBe('22023');
    expect(new FrontendReader().push(bind([1], 3))).toMatchObject([{ paramFormats: [1], params: [null, null, null] }]);
  });

  it('refuses Describe and Close of anything but a statement or a portal', () => {
    expect(errorOf(pushing(message('D', Buffer.concat([Buffer.from('X'), cstr('n')])))).sqlstate).toBe('08P01');
    expect(errorOf(pushing(message('C', Buffer.concat([Buffer.from('s'), cstr('n')])))).sqlstate).toBe('08P01');
  });

  it('refuses SQL that is not UTF-8 instead of replacing the bad bytes', () => {
    const invalid = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xf4, 0x90, 0x80, 0x80]];
    for (const seq of invalid) {
      const sql = Buffer.concat([Buffer.from('select 1 /*'), Buffer.from(seq), cstr('*/')]);
      expect(errorOf(pushing(message('Q', sql))).sqlstate).toBe('22021');
      expect(errorOf(pushing(message('P', Buffer.concat([cstr(''), sql, int16(0)])))).sqlstate).toBe('22021');
    }
  });

  it('stays failed, and returns nothing of a push that held a bad message', () => {
    const reader = new FrontendReader();
    const first = errorOf(() => reader.push(Buffer.concat([serialize.query('select 1'), Buffer.from('A')])));
    expect(errorOf(() => reader.push(Buffer.from(serialize.sync())))).toBe(first);
  });

  it('throws only ProtocolErrors on random bytes, whatever the chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const all = Buffer.from(bytes);
        try {
          decodeIn(all, cuts.map((c) => c % (all.length + 1)), { maxMessageBytes: 1000 });
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('throws only ProtocolErrors on valid messages with bytes changed', () => {
    fc.assert(
      fc.property(fc.array(built, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (msgs, edits) => {
        const all = Buffer.concat(msgs.map((m) => m.bytes));
        for (const [at, value] of edits) all[at % all.length] = value;
        try {
          decodeIn(all, [], { maxMessageBytes: 1000 });
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
