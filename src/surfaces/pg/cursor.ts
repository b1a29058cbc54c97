/**
 * Bounds-checked reads over one message body, on top of pg-protocol's
 * BufferReader (which reads past the end of its buffer without a word: a
 * cstring without its NUL runs to the end, an int32 past it throws a
 * RangeError). Every read here first checks that the body holds it and
 * otherwise throws a 08P01 ProtocolError naming the message and the field.
 */
import { isUtf8 } from 'node:buffer';
import { BufferReader } from 'pg-protocol/dist/buffer-reader.js';
import { ProtocolError, SQLSTATE, violation } from './errors.ts';

/**
 * A reader of one message body. `strict` strings must be valid UTF-8
 * (22021 otherwise): what a client sends is judged as text and must be
 * exactly the text that runs. Upstream text is read leniently.
 *
 * @example
 * const c = new Cursor(body, 'Query message');
 * const sql = c.cstring('query string');
 * c.end();
 */
export class Cursor {
  private readonly reader = new BufferReader();
  private offset = 0;

  constructor(
    private readonly body: Buffer,
    private readonly what: string,
    private readonly strict = true,
  ) {
    this.reader.setBuffer(0, body);
  }

  get remaining(): number {
    return this.body.length - this.offset;
  }

  /** Throws unless `n` more bytes are there: lets a count be checked before a loop trusts it. */
  need(n: number, field: string): void {
    if (n > this.remaining) throw violation(`${this.what}: ${field} runs past the end of the message`);
  }

  byte(field: string): number {
    this.advance(1, field);
    return this.reader.byte();
  }

  int16(field: string): number {
    this.advance(2, field);
    return this.reader.int16();
  }

  /** A count: PostgreSQL's pq_getmsgint(msg, 2) reads it unsigned. */
  uint16(field: string): number {
    return this.int16(field) & 0xffff;
  }

  int32(field: string): number {
    this.advance(4, field);
    return this.reader.int32();
  }

  uint32(field: string): number {
    this.advance(4, field);
    return this.reader.uint32();
  }

  bytes(n: number, field: string): Buffer {
    if (n < 0) throw violation(`${this.what}: ${field} has a negative length`);
    this.advance(n, field);
    return this.reader.bytes(n);
  }

  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  cstring(field: string): string {
    const nul = this.body.indexOf(0, this.offset);
    if (nul < 0) throw violation(`${this.what}: ${field} is not terminated by a NUL byte`);
    const bytes = this.bytes(nul - this.offset, field);
    this.bytes(1, field);
    if (this.strict && !isUtf8(bytes)) {
      throw new ProtocolError(SQLSTATE.characterNotInRepertoire, `${this.what}: ${field} is not valid UTF-8`);
    }
    return bytes.toString('utf8');
  }

  /** PostgreSQL's pq_getmsgend: a message with bytes after its last field is malformed. */
  end(): void {
    if (this.remaining !== 0) {
      throw violation(`${this.what}: ${this.remaining} unexpected bytes after the last field`);
    }
  }

  private advance(n: number, field: string): void {
    this.need(n, field);
    this.offset += n;
  }
}
