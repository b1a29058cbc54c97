import { createHash } from 'node:crypto';
import { serialize } from 'pg-protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyInShape } from '../../adapters/executor/sql/copy-in.ts';
import { loadSqlParser } from '../../adapters/executor/sql/facts.ts';
import { copyInResponse, readCopyIn } from './copy-in.ts';
import { FrontendReader, type FrontendMessage } from './protocol.ts';

/** The messages `bytes` decode to, handed out one at a time as the session would. */
const feed = (...bytes: Uint8Array[]) => {
  const queue = new FrontendReader().push(Buffer.concat(bytes.map((b) => Buffer.from(b))));
  return async (): Promise<FrontendMessage | undefined> => queue.shift();
};
const text = { statements: 1, binary: false, columns: 0 };

describe('COPY FROM STDIN read by the listener', () => {
  beforeAll(() => loadSqlParser());

  it('finds COPY FROM STDIN, its format and columns, and nothing else', () => {
    expect(copyInShape('COPY t FROM STDIN')).toEqual(text);
    expect(copyInShape('copy t (a, b) from stdin with (format binary)')).toEqual({ statements: 1, binary: true, columns: 2 });
    expect(copyInShape('COPY t FROM STDIN BINARY')).toMatchObject({ binary: true });
    expect(copyInShape('SELECT 1; COPY t FROM STDIN (FORMAT csv)')).toEqual({ statements: 2, binary: false, columns: 0 });
    for (const sql of ['COPY t TO STDOUT', "COPY t FROM '/etc/hostname'", "COPY t FROM PROGRAM 'true'", 'SELECT 1', "SELECT 'copy'", 'COPY nonsense FROM']) {
      expect(copyInShape(sql), sql).toBeUndefined();
    }
  });

  it('answers with a CopyInResponse of the format and the columns named', () => {
    expect([...copyInResponse({ statements: 1, binary: false, columns: 2 })]).toEqual([0x47, 0, 0, 0, 11, 0, 0, 2, 0, 0, 0, 0]);
    expect([...copyInResponse({ statements: 1, binary: true, columns: 0 })]).toEqual([0x47, 0, 0, 0, 7, 1, 0, 0]);
  });

  it('digests every byte, counts the lines but psql\'s final \\., previews the start, and sends the data on as the client framed it', async () => {
    const parts = ['1\tone\n', '2\ttwo\n', '\\.\n'].map((s) => Buffer.from(s));
    const got = await readCopyIn(feed(...parts.map((p) => serialize.copyData(p)), serialize.flush(), serialize.copyDone()), text, 1024);
    expect(got.kind).toBe('data');
    if (got.kind !== 'data') return;
    expect(got.copy).toEqual({ sha256: createHash('sha256').update(Buffer.concat(parts)).digest('hex'), bytes: 15, lines: 2, preview: '1\tone\n2\ttwo\n\\.\n' });
    expect(new FrontendReader().push(got.frames).map((m) => (m.type === 'copyData' ? m.data.toString() : m.type))).toEqual(['1\tone\n', '2\ttwo\n', '\\.\n', 'copyDone']);
    // One byte more is another digest.
    const other = await readCopyIn(feed(serialize.copyData(Buffer.from('1\tone\n2\ttwo\n\\.\n ')), serialize.copyDone()), text, 1024);
    expect(other.kind === 'data' && other.copy.sha256).not.toBe(got.copy.sha256);
  });

  it('past the limit, reads to the end and fails with 54000; a CopyFail is 57014; a client gone is gone; another message is a protocol violation', async () => {
    const big = Buffer.alloc(600, 0x61);
    expect(await readCopyIn(feed(serialize.copyData(big), serialize.copyData(big), serialize.copyDone()), text, 1024)).toMatchObject({ kind: 'failed', code: '54000' });
    expect(await readCopyIn(feed(serialize.copyData(big), serialize.copyFail('no')), text, 1024)).toEqual({ kind: 'failed', code: '57014', message: 'COPY from stdin failed: no' });
    expect(await readCopyIn(feed(serialize.copyData(big)), text, 1024)).toEqual({ kind: 'gone' });
    await expect(readCopyIn(feed(serialize.query('SELECT 1')), text, 1024)).rejects.toMatchObject({ sqlstate: '08P01' });
  });
});
