/**
 * Simple-Query helpers for tests of raw upstream sessions: send one Query
 * (pg-protocol's serializer) and decode the answer up to ReadyForQuery.
 */
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { decodeFrame, FrameBuffer } from '../../src/adapters/executor/sql/upstream-frames.ts';
import type { UpstreamSession } from '../../src/adapters/executor/sql/upstream-session.ts';

export type Message = BackendMessage & Record<string, unknown>;

/** Sends a simple Query and collects the backend's messages up to ReadyForQuery; rejects if the session closes first. */
export function query(session: UpstreamSession, sql: string): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const frames = new FrameBuffer();
    const out: Message[] = [];
    session.onClose((err) => reject(err ?? new Error('closed')));
    session.onData((chunk) => {
      frames.push(chunk);
      for (let frame = frames.take(); frame; frame = frames.take()) {
        const m = decodeFrame(frame);
        out.push(m);
        if (m.name === 'readyForQuery') resolve(out);
      }
    });
    session.write(serialize.query(sql));
  });
}

/** The first column of the first row, as text. */
export async function scalar(session: UpstreamSession, sql: string): Promise<string | null> {
  const row = (await query(session, sql)).find((m) => m.name === 'dataRow');
  const fields = row?.['fields'] as (string | null)[] | undefined;
  return fields?.[0] ?? null;
}
