/**
 * Framing of backend messages read from an upstream PostgreSQL socket. The
 * gateway decodes only what it must (the startup exchange, the pool's
 * DISCARD ALL) and hands everything else on as raw bytes, so it needs to know
 * exactly where one message ends: pg-protocol's Parser keeps its own buffer
 * and cannot say which bytes came after a ReadyForQuery. Frames are split
 * here by their length word, and each whole frame is decoded by a fresh
 * Parser.
 */
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { noticeFields } from '../../../surfaces/pg/protocol.ts';

/** Bytes received and not yet taken as whole frames. */
export class FrameBuffer {
  private buffered: Buffer = Buffer.alloc(0);

  /** `maxFrame` bounds one message, so a hostile or broken peer cannot make the gateway buffer without limit. */
  constructor(private readonly maxFrame = 1 << 20) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  /** The next whole frame (type byte, length word, body), or undefined until one has arrived. Throws on a malformed length. */
  take(): Buffer | undefined {
    if (this.buffered.length < 5) return undefined;
    // Protocol §55.7: the length counts itself but not the type byte.
    const length = this.buffered.readInt32BE(1);
    if (length < 4 || length > this.maxFrame) throw new FrameError();
    if (this.buffered.length < length + 1) return undefined;
    const frame = this.buffered.subarray(0, length + 1);
    this.buffered = this.buffered.subarray(length + 1);
    return frame;
  }

  /** What is left after the frames taken: bytes that belong to whoever reads the socket next. */
  rest(): Buffer {
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}

const ERRNO_PROTOCOL = 'EPROTO';

/** A frame whose length word cannot be right. */
export class FrameError extends Error {
  /** The errno-style token an operator sees ("could not connect to <name>: EPROTO"), not a registry code. */
  readonly code: string = ERRNO_PROTOCOL;
  constructor() {
    super('malformed message from the upstream');
    this.name = 'FrameError';
  }
}

/**
 * Decodes one whole backend frame with pg-protocol (an ErrorResponse becomes
 * a DatabaseError value, not a throw).
 *
 * @example
 * const msg = decodeFrame(frame); // { name: 'readyForQuery', status: 'I', ... }
 */
export function decodeFrame(frame: Buffer): BackendMessage & Record<string, unknown> {
  let message: BackendMessage | undefined;
  new Parser().parse(frame, (m) => {
    message = m;
  });
  if (!message) throw new FrameError();
  return message as BackendMessage & Record<string, unknown>;
}

/** The one text column of a DataRow body, null for SQL NULL. */
export function dataRowNullableText(body: Buffer): string | null {
  return body.readInt32BE(2) < 0 ? null : dataRowText(body);
}

/** The one text column of a DataRow body. */
export function dataRowText(body: Buffer): string {
  const len = body.readInt32BE(2);
  return body.toString('utf8', 6, 6 + len);
}

/** A message's bytes as a Buffer, without a copy. */
export function bytes(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** The SQLSTATE of an ErrorResponse body. */
export function sqlstate(errorBody: Buffer): string {
  return noticeFields(errorBody)['C'] ?? 'XX000';
}
