import { describe, expect, it } from 'vitest';
import { ClientOutput } from './client-output.ts';

const b = (s: string) => Buffer.from(s);

describe('ClientOutput', () => {
  it('writes at once while not holding, and holds a statement\'s answers until they are flushed, in one write', () => {
    const writes: string[] = [];
    const out = new ClientOutput((bytes) => void writes.push(Buffer.from(bytes).toString()));
    out.send(b('auth'));
    expect(writes).toEqual(['auth']);
    out.hold();
    out.send(b('T'));
    out.send(b('D'));
    out.send(b('C'));
    expect(writes).toEqual(['auth']);
    out.send(b('Z'), true);
    expect(writes).toEqual(['auth', 'TDCZ']);
    out.release();
    out.send(b('A'));
    expect(writes).toEqual(['auth', 'TDCZ', 'A']);
  });

  it('writes what is held once it passes the bound, so a large result leaves in bounded pieces', () => {
    const writes: number[] = [];
    const out = new ClientOutput((bytes) => void writes.push(bytes.length), 1000);
    out.hold();
    for (let i = 0; i < 25; i++) out.send(Buffer.alloc(100));
    out.release();
    expect(writes).toEqual([1000, 1000, 500]);
  });
});
