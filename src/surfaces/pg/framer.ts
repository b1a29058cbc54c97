/**
 * Splits a byte stream of typed PostgreSQL messages (a type byte, an int32
 * length that counts itself, the body) into whole messages, chunk by chunk.
 *
 * A partial message is gathered in one buffer that grows by doubling up to
 * the declared length, so a message arriving in many small chunks is copied
 * O(n) times in all, and memory follows the bytes received rather than the
 * bytes announced: a client that declares 64 MiB and sends nothing costs
 * nothing. The rules see the type byte as soon as it arrives and the length
 * as soon as the header is complete, so a bad or oversized message is
 * refused before any of its body is kept.
 */
import { ProtocolError, violation } from './errors.ts';

/** One whole message. `raw` is a copy the message owns; `body` is the part of it after the length. */
export interface Frame {
  type: string;
  raw: Buffer;
  body: Buffer;
}

/** What a stream accepts. Each throws a ProtocolError to refuse. */
export interface FrameRules {
  type(code: number): void;
  /** `length` counts itself (4 bytes) and the body, not the type byte. */
  length(code: number, length: number): void;
}

const HEADER = 5;

/** Default limit on a message's declared length. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The `maxMessageBytes` option, checked once when a reader is made. */
export function maxMessageBytes(opts: { maxMessageBytes?: number }): number {
  const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(max) || max < 4 || max > 0x7fffffff) {
    throw new RangeError(`maxMessageBytes must be an integer from 4 to 2147483647, got ${max}`);
  }
  return max;
}

/**
 * An incremental framer. After it throws it stays failed: every later push
 * throws the same error, since the stream can no longer be framed.
 *
 * @example
 * const f = new Framer(rules);
 * f.push(Buffer.from([0x5a, 0, 0])); // []
 * f.push(Buffer.from([0, 5, 0x49])); // [{ type: 'Z', raw: <5a 00 00 00 05 49>, body: <49> }]
 */
export class Framer {
  private partial = Buffer.alloc(0);
  private have = 0;
  private total = 0; // the partial message's full size once its header is in, else 0
  private failure: ProtocolError | undefined;

  constructor(private readonly rules: FrameRules) {}

  /** Whole messages completed by `chunk`; throws a ProtocolError at the first bad header. */
  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    try {
      return this.take(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.failure = err;
        this.partial = Buffer.alloc(0);
      }
      throw err;
    }
  }

  private take(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.have === 0) {
        // Fast path: whole messages straight out of the chunk, one copy each.
        this.rules.type(chunk[at] as number);
        if (chunk.length - at >= HEADER) {
          const total = this.header(chunk, at);
          if (chunk.length - at >= total) {
            frames.push(frame(Buffer.from(chunk.subarray(at, at + total))));
            at += total;
            continue;
          }
        }
      }
      at = this.gather(chunk, at);
      if (this.total > 0 && this.have === this.total) {
        frames.push(frame(this.partial.length === this.total ? this.partial : this.partial.subarray(0, this.total)));
        this.partial = Buffer.alloc(0);
        this.have = 0;
        this.total = 0;
      }
    }
    return frames;
  }

  /** Copies from `chunk` into the partial message as far as its header, then its end; returns where it stopped. */
  private gather(chunk: Buffer, at: number): number {
    if (this.have === 0) this.rules.type(chunk[at] as number);
    if (this.total === 0) {
      const n = Math.min(HEADER - this.have, chunk.length - at);
      this.append(chunk, at, n, HEADER);
      at += n;
      if (this.have < HEADER) return at;
      this.total = this.header(this.partial, 0);
      if (this.have === this.total) return at;
    }
    const n = Math.min(this.total - this.have, chunk.length - at);
    this.append(chunk, at, n, this.total);
    return at + n;
  }

  private append(chunk: Buffer, at: number, n: number, cap: number): void {
    if (this.have + n > this.partial.length) {
      const size = Math.min(cap, Math.max(this.partial.length * 2, this.have + n, 256));
      const grown = Buffer.allocUnsafe(size);
      this.partial.copy(grown, 0, 0, this.have);
      this.partial = grown;
    }
    chunk.copy(this.partial, this.have, at, at + n);
    this.have += n;
  }

  private header(buf: Buffer, at: number): number {
    const code = buf[at] as number;
    const length = buf.readInt32BE(at + 1);
    if (length < 4) throw violation(`invalid message length ${length} for message type "${printable(code)}"`);
    this.rules.length(code, length);
    return length + 1;
  }
}

const frame = (raw: Buffer): Frame => ({ type: String.fromCharCode(raw[0] as number), raw, body: raw.subarray(HEADER) });

/** A type byte as it can be shown in an error: the character if printable ASCII, else its number. */
export const printable = (code: number): string => (code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : `\\x${code.toString(16).padStart(2, '0')}`);
