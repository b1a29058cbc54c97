import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import type { WireUpstream } from '../../core/ports.ts';
import { QUEUE_BYTES, serveSession } from './session.ts';
import type { StatementContext } from './statement.ts';

describe('serveSession', () => {
  it('stops reading a client while more than QUEUE_BYTES of its messages wait behind a statement that has not finished', async () => {
    const first = Buffer.concat([serialize.parse({ text: 'SELECT 1' }), serialize.flush()]);
    const chunk = serialize.query(' '.repeat(65_536));
    const supply = 256; // 16 MiB of empty queries behind the Parse + Flush, which hangs until released
    let taken = 0;
    let given = 0;
    let hanging = true;
    let readPastBound = false;
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const read = {
      more: () => {
        // Asked for more while the first message still hangs and the rest already waits in memory: no bound.
        if (hanging && taken - first.length > QUEUE_BYTES) readPastBound = true;
        return new Promise<boolean>((r) => setImmediate(() => r(given <= supply)));
      },
      take(): Buffer {
        const b = given === 0 ? first : given <= supply ? chunk : Buffer.alloc(0);
        given++;
        taken += b.length;
        return b;
      },
    };
    const upstream = { status: () => 'I', sync: () => blocked } as unknown as WireUpstream;
    const sent: Buffer[] = [];
    const ctx = { send: (b: Buffer) => sent.push(b), upstream, cancelled: () => new AbortController().signal } as unknown as StatementContext & { cancelled: () => AbortSignal };
    const session = serveSession(read, ctx, upstream, { maxMessageBytes: 1 << 20 });
    // Once the bound is reached (or passed, without one), the hanging statement finishes.
    const poll = setInterval(() => {
      if (taken - first.length > QUEUE_BYTES || given > supply) {
        hanging = false;
        release();
      }
    }, 5);
    await session;
    clearInterval(poll);
    expect(readPastBound).toBe(false);
    // Then reading went on, and every query was answered (EmptyQueryResponse and ReadyForQuery).
    expect(given).toBeGreaterThan(supply);
    expect(sent.length).toBe(2 * supply);
  });
});
