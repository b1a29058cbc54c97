/**
 * COPY … FROM STDIN, read by the listener itself. PostgreSQL asks for the
 * data only after it started the statement, so a gateway that judged the
 * statement alone would approve whatever rows follow it. Instead the listener
 * answers the client's COPY with its own CopyInResponse, reads the data up to
 * CopyDone (bounded by `maxCopyBytes`), and only then submits the statement
 * with the data's digest in its input: the approval is for these bytes, and
 * the upstream gets them, and nothing else, when it asks (wire-relay.ts).
 */
import { createHash } from 'node:crypto';
import { COPY_PREVIEW_BYTES, type SqlInput } from '../../core/action.ts';
import type { CopyInShape } from '../../adapters/executor/sql/copy-in.ts';
import { ProtocolError, type FrontendMessage } from './protocol.ts';

/** server.postgres.maxCopyBytes when not configured. */
export const DEFAULT_MAX_COPY_BYTES = 8 * 1024 * 1024;

export type CopyRead =
  /** `copy`: what the action carries; `frames`: the CopyData messages and CopyDone to send upstream. */
  | { readonly kind: 'data'; readonly copy: NonNullable<SqlInput['copy']>; readonly frames: Buffer }
  /** Nothing is submitted: the client is told `code` and `message`. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'gone' };

/**
 * The CopyInResponse PostgreSQL would send: the overall format, and one format
 * code per column the statement names (0 when it names none; clients read the
 * count, psql and node-postgres do not need it).
 *
 * @example
 * copyInResponse({ statements: 1, binary: false, columns: 2 }); // <47 00 00 00 0b 00 00 02 00 00 00 00>
 */
export function copyInResponse(shape: CopyInShape): Buffer {
  const out = Buffer.alloc(1 + 4 + 1 + 2 + 2 * shape.columns);
  out.write('G', 0, 'latin1');
  out.writeInt32BE(out.length - 1, 1);
  out.writeInt8(shape.binary ? 1 : 0, 5);
  out.writeInt16BE(shape.columns, 6);
  for (let i = 0; i < shape.columns; i++) out.writeInt16BE(shape.binary ? 1 : 0, 8 + 2 * i);
  return out;
}

/**
 * Reads the client's COPY data up to its CopyDone or CopyFail. Flush and Sync
 * are ignored, as PostgreSQL ignores them during COPY; any other message is a
 * protocol violation. Past `maxBytes` the rest is read and dropped, and the
 * COPY fails with 54000 once the client ends it.
 *
 * @example
 * const got = await readCopyIn(next, shape, 8 << 20); // { kind: 'data', copy: { sha256, bytes, lines, preview }, frames }
 */
export async function readCopyIn(next: () => Promise<FrontendMessage | undefined>, shape: CopyInShape, maxBytes: number): Promise<CopyRead> {
  const frames: Buffer[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  let head: Buffer[] = [];
  let headBytes = 0;
  /** The last bytes of the data: a final `\.` line (the text format's end marker, which psql sends) is not a row. */
  let tail = Buffer.alloc(0);
  for (;;) {
    const m = await next();
    if (m === undefined || m.type === 'terminate') return { kind: 'gone' };
    switch (m.type) {
      case 'copyData': {
        bytes += m.data.length;
        if (bytes > maxBytes) {
          frames.length = 0;
          head = [];
          continue;
        }
        frames.push(m.raw);
        hash.update(m.data);
        for (let at = m.data.indexOf(0x0a); at >= 0; at = m.data.indexOf(0x0a, at + 1)) lines++;
        tail = Buffer.concat([tail, m.data.subarray(-4)]).subarray(-4);
        if (headBytes < COPY_PREVIEW_BYTES) {
          head.push(m.data.subarray(0, COPY_PREVIEW_BYTES - headBytes));
          headBytes += head.at(-1)!.length;
        }
        continue;
      }
      case 'copyDone': {
        if (bytes > maxBytes) return { kind: 'failed', code: '54000', message: `COPY data over the limit of ${maxBytes} bytes (server.postgres.maxCopyBytes); nothing was submitted or loaded` };
        const start = Buffer.concat(head);
        const preview = shape.binary ? start.toString('hex') : start.toString('utf8');
        const marker = tail.toString('latin1') === '\n\\.\n' || (bytes === 3 && tail.toString('latin1') === '\\.\n');
        const copy = { sha256: hash.digest('hex'), bytes, lines: shape.binary ? 0 : lines - (marker ? 1 : 0), preview };
        return { kind: 'data', copy, frames: Buffer.concat([...frames, Buffer.from([0x63, 0, 0, 0, 4])]) };
      }
      case 'copyFail':
        // PostgreSQL's answer to a CopyFail (ERRCODE_QUERY_CANCELED).
        return { kind: 'failed', code: '57014', message: `COPY from stdin failed: ${m.message}` };
      case 'flush':
      case 'sync':
        continue;
      default:
        throw new ProtocolError('08P01', `unexpected message type during COPY from stdin`);
    }
  }
}
