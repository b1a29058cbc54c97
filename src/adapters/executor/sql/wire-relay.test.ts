import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { WireRelay, type RelaySocket } from './wire-relay.ts';

/** A backend message: type byte, length, body. */
const message = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
const dataRow = (text: string) => {
  const v = Buffer.from(text);
  const b = Buffer.alloc(2 + 4 + v.length);
  b.writeInt16BE(1, 0);
  b.writeInt32BE(v.length, 2);
  v.copy(b, 6);
  return message('D', b);
};

/** An upstream connection in memory: what the relay wrote, and whether it reads. */
function fakeUpstream() {
  let data: ((chunk: Buffer) => void) | undefined;
  const state = { paused: 0, resumed: 0 };
  const written: Buffer[] = [];
  const socket: RelaySocket = {
    write: (b) => void written.push(b),
    onData: (l) => (data = l),
    onClose: () => {},
    pause: () => void state.paused++,
    resume: () => void state.resumed++,
  };
  return { socket, state, written, receive: (b: Buffer) => data!(b) };
}

describe('WireRelay', () => {
  it('stops reading the upstream while the client has not read what it was sent, and reads on once it has', async () => {
    const up = fakeUpstream();
    let drained!: () => void;
    const slow = new Promise<void>((r) => (drained = r));
    const got: { bytes: number; now: boolean | undefined }[] = [];
    const relay = new WireRelay(up.socket, (bytes, now) => {
      got.push({ bytes: bytes.length, now });
      return got.length === 1 ? slow : undefined;
    });
    const answered = relay.send(serialize.query('SELECT 1'), 'query', 'client');
    up.receive(dataRow('a'));
    expect(up.state).toEqual({ paused: 1, resumed: 0 });
    // A second chunk already on its way while paused does not pause again.
    up.receive(dataRow('b'));
    expect(up.state).toEqual({ paused: 1, resumed: 0 });
    drained();
    await slow;
    await Promise.resolve();
    expect(up.state).toEqual({ paused: 1, resumed: 1 });
    up.receive(Buffer.concat([message('C', Buffer.from('SELECT 2\0')), message('Z', Buffer.from('I'))]));
    expect((await answered).outcome).toBe('answered');
    expect(got.map((g) => g.now)).toEqual([false, false, false]);
  });

  it('marks a NOTICE as not to be held for the ReadyForQuery', async () => {
    const up = fakeUpstream();
    const got: boolean[] = [];
    const relay = new WireRelay(up.socket, (_bytes, now) => void got.push(now === true));
    void relay.send(serialize.query('SELECT 1'), 'query', 'client');
    up.receive(message('N', Buffer.from('SNOTICE\0\0')));
    up.receive(dataRow('c'));
    expect(got).toEqual([true, false]);
  });

  it("answers the upstream's CopyInResponse with the COPY data judged with the statement, once; without any, with a CopyFail; the client sees neither", async () => {
    const up = fakeUpstream();
    const got: Buffer[] = [];
    const relay = new WireRelay(up.socket, (bytes) => void got.push(bytes));
    const data = Buffer.concat([Buffer.from(serialize.copyData(Buffer.from('1\tx\n'))), Buffer.from(serialize.copyDone())]);
    relay.copyData = data;
    void relay.send(serialize.query('COPY t FROM STDIN'), 'query', 'client');
    await Promise.resolve();
    up.written.length = 0;
    up.receive(message('G', Buffer.from([0, 0, 0])));
    await Promise.resolve();
    expect(Buffer.concat(up.written)).toEqual(data);
    expect(got).toEqual([]);
    // A second COPY in the same run (none is judged with it) gets no data.
    up.written.length = 0;
    up.receive(message('G', Buffer.from([0, 0, 0])));
    await Promise.resolve();
    expect(Buffer.concat(up.written)[0]).toBe('f'.charCodeAt(0));
    expect(got).toEqual([]);
  });
});
