import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  authRequest,
  backend,
  BackendFramer,
  type BackendFrame,
  backendKeyData,
  commandTag,
  noticeFields,
  parameterStatus,
  ProtocolError,
  readyStatus,
} from './protocol.ts';

/** A raw connection to the test PostgreSQL whose replies go through a BackendFramer, a byte at a time. */
async function upstream() {
  const socket: Socket = connect(5432, '127.0.0.1');
  await once(socket, 'connect');
  const framer = new BackendFramer();
  const frames: BackendFrame[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    for (const byte of chunk) frames.push(...framer.push(Buffer.from([byte])));
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  /** Sends `bytes` and returns the messages up to and including the next ReadyForQuery. */
  const exchange = async (bytes: Buffer): Promise<BackendFrame[]> => {
    socket.write(bytes);
    for (;;) {
      const end = frames.findIndex((f) => f.type === 'Z');
      if (end >= 0) return frames.splice(0, end + 1);
      if (closed) throw new Error('upstream closed the connection');
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return { exchange, close: () => socket.end(serialize.end()) };
}

describe('backend messages from a real PostgreSQL', () => {
  it('frame and decode the startup, results, errors and transaction states', async () => {
    const pg = await upstream();
    try {
      const start = await pg.exchange(Buffer.from(serialize.startup({ user: 'postgres', database: 'postgres' })));
      expect(start[0]?.type).toBe('R');
      expect(authRequest(start[0]!.body)).toEqual({ type: 'ok' });
      const params = Object.fromEntries(start.filter((f) => f.type === 'S').map((f) => [parameterStatus(f.body).name, parameterStatus(f.body).value]));
      expect(params).toMatchObject({ client_encoding: 'UTF8', server_version: expect.stringMatching(/^\d+/) });
      const key = start.find((f) => f.type === 'K');
      expect(backendKeyData(key!.body)).toMatchObject({ pid: expect.any(Number), secret: expect.any(Buffer) });
      expect(readyStatus(start.at(-1)!.body)).toBe('I');

      const query = await pg.exchange(Buffer.from(serialize.query('select 1; select * from cs_test_no_such_table')));
      expect(commandTag(query.find((f) => f.type === 'C')!.body)).toBe('SELECT 1');
      expect(noticeFields(query.find((f) => f.type === 'E')!.body)).toMatchObject({ S: 'ERROR', V: 'ERROR', C: '42P01', M: expect.stringContaining('cs_test_no_such_table') });

      const begin = await pg.exchange(Buffer.from(serialize.query('begin')));
      expect([commandTag(begin[0]!.body), readyStatus(begin.at(-1)!.body)]).toEqual(['BEGIN', 'T']);
      const failed = await pg.exchange(Buffer.from(serialize.query('select 1/0')));
      expect(noticeFields(failed[0]!.body)['C']).toBe('22012');
      expect(readyStatus(failed.at(-1)!.body)).toBe('E');

      // Every frame's raw bytes are the whole message: relayed as they are, node-postgres reads the same.
      expect(Buffer.concat(failed.map((f) => f.raw)).subarray(-6)).toEqual(backend.readyForQuery('E'));
    } finally {
      pg.close();
    }
  });
});

const r = (code: number, rest: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.from([0, 0, 0, code]), rest]);

function sqlstateOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ProtocolError) return err.sqlstate;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('upstream decoders', () => {
  it('read each authentication request', () => {
    expect(authRequest(r(3))).toEqual({ type: 'cleartext' });
    expect(authRequest(r(5, Buffer.from([1, 2, 3, 4])))).toEqual({ type: 'md5', salt: Buffer.from([1, 2, 3, 4]) });
    expect(authRequest(r(10, Buffer.from('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0')))).toEqual({ type: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(authRequest(r(11, Buffer.from('r=abc,s=c2FsdA==,i=4096')))).toEqual({ type: 'saslContinue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') });
    expect(authRequest(r(12, Buffer.from('v=xyz')))).toEqual({ type: 'saslFinal', data: Buffer.from('v=xyz') });
    expect(authRequest(r(7))).toEqual({ type: 'other', code: 7 });
  });

  it('refuse truncated or malformed bodies with 08P01', () => {
    const bad: (() => unknown)[] = [
      () => readyStatus(Buffer.from('X')),
      () => readyStatus(Buffer.alloc(0)),
      () => readyStatus(Buffer.from('II')),
      () => commandTag(Buffer.from('SELECT 1')),
      () => noticeFields(Buffer.from('SERROR\0')),
      () => noticeFields(Buffer.from('SERROR')),
      () => parameterStatus(Buffer.from('TimeZone\0')),
      () => backendKeyData(Buffer.from([0, 0, 0, 1, 2])),
      () => backendKeyData(Buffer.alloc(4 + 257)),
      () => authRequest(Buffer.from([0, 0])),
      () => authRequest(r(5, Buffer.from([1, 2]))),
      () => authRequest(r(10, Buffer.from('SCRAM-SHA-256\0'))),
      () => authRequest(r(0, Buffer.from([0]))),
    ];
    for (const f of bad) expect(sqlstateOf(f)).toBe('08P01');
  });

  it('frame with the same length rules as the frontend', () => {
    const header = (length: number) => {
      const b = Buffer.from('D\0\0\0\0');
      b.writeInt32BE(length, 1);
      return b;
    };
    for (const length of [0, 3, -1]) expect(sqlstateOf(() => new BackendFramer().push(header(length)))).toBe('08P01');
    const framer = new BackendFramer({ maxMessageBytes: 1000 });
    const big = header(1001);
    for (const byte of big.subarray(0, 4)) expect(framer.push(Buffer.from([byte]))).toEqual([]);
    expect(sqlstateOf(() => framer.push(big.subarray(4)))).toBe('54000');
    expect(sqlstateOf(() => framer.push(backend.noData()))).toBe('54000');
  });
});
