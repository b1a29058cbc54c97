/**
 * An upstream's answer made safe to keep and hand to the agent: decoded
 * (Content-Encoding, bounded so a small compressed bomb cannot fill memory),
 * read as text only when its type and charset say what it is, scrubbed of
 * the connection's secrets in every encoding the scrubber knows, and only
 * then cut to the bound — a cut cannot leave the beginning of a secret, nor
 * answer whether the agent's own text at the cut begins one. A
 * body the gateway cannot check (binary, an unknown encoding or charset) is
 * withheld, and the result says why, quoting the upstream's header scrubbed
 * like the body (an upstream may echo a credential there too).
 */
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { REDACTED, type SecretScrubber } from '../../../core/scrub.ts';

export const MAX_BODY_BYTES = 1_048_576;
// Read past the bound by more than any encoded secret is long: a secret the read cuts lies past the final cut.
const READ_MARGIN = 65_536;

const DECODERS: Readonly<Record<string, () => NodeJS.ReadWriteStream>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
const TEXT_TYPE = /^(?:text\/[\w.+-]+|application\/(?:[\w.-]+\+)?(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|yaml|x-yaml|csv|graphql|x-ndjson|ndjson|problem\+json|jwt|sql)|multipart\/form-data)$/;
const CHARSETS = new Map([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  ['us-ascii', 'utf-8'],
  ['ascii', 'utf-8'],
  ['iso-8859-1', 'latin1'],
  ['latin1', 'latin1'],
]);

export interface ReadBody {
  /** The body as the agent may see it; null when withheld. */
  readonly text: string | null;
  readonly truncated: boolean;
  /** Why the body was withheld, when it was. */
  readonly withheld?: string;
  /** Bytes of the decoded body read (up to the bound and its margin). */
  readonly bytes: number;
}

async function readUpTo(body: AsyncIterable<Buffer>, limit: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > limit) {
      chunks.push(chunk.subarray(0, limit - size));
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}

/** The body decoded per Content-Encoding, read up to `limit` decoded bytes; null for an encoding the gateway does not decode. */
async function decoded(body: Readable, contentEncoding: string, limit: number): Promise<{ bytes: Buffer; truncated: boolean } | null> {
  const codings = contentEncoding.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  if (codings.length === 0) return readUpTo(body, limit);
  if (codings.length > 1 || !DECODERS[codings[0]!]) return null;
  // pipeline, not pipe: an aborted body (the run's deadline) must fail the read, not leave it waiting.
  const stream = pipeline(body, DECODERS[codings[0]!]!(), () => {}) as unknown as Readable;
  try {
    return await readUpTo(stream, limit);
  } finally {
    // Stop inflating at the bound: what is left of a bomb is never expanded.
    stream.destroy();
    discard(body);
  }
}

/** Stops reading a body the gateway will not use (undici reports the abort as an error: nobody needs it). */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function isDecompressError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR_BROTLI') || code.startsWith('ERR__'));
}

function withheld(reason: string, bytes = 0): ReadBody {
  return { text: null, truncated: false, withheld: reason, bytes };
}

/**
 * @example
 * const read = await readScrubbed(res.body, res.headers, scrubber); // read.text, or read.withheld says why not
 */
export async function readScrubbed(body: Readable, headers: Readonly<Record<string, string | string[] | undefined>>, scrubber: SecretScrubber): Promise<ReadBody> {
  const header = (name: string) => String(headers[name] ?? '');
  // What a reason quotes of the upstream's headers: scrubbed as sent (in its case: a credential echoed there is found
  // whole, then lower-cased with the rest), then cut; one that will not come clean is not quoted.
  const quoted = (name: string) => {
    const r = scrubber.scrub(header(name));
    return r.clean ? r.text.toLowerCase() : REDACTED;
  };
  let read: { bytes: Buffer; truncated: boolean } | null;
  try {
    read = await decoded(body, header('content-encoding'), MAX_BODY_BYTES + READ_MARGIN);
  } catch (e) {
    // A lost or timed-out upstream is the caller's to report; only a body that does not decompress is withheld here.
    if (!isDecompressError(e)) throw e;
    return withheld('the body could not be decoded as its Content-Encoding says');
  }
  if (!read) {
    discard(body);
    return withheld(`the body is in a Content-Encoding the gateway does not decode (${scrubber.clip(quoted('content-encoding'), 40)}), so it cannot be checked for the connection's secrets`);
  }
  if (read.bytes.length === 0) return { text: '', truncated: false, bytes: 0 };
  const typeAndCharset = (value: string) => {
    const [type = '', ...params] = value.split(';').map((p) => p.trim());
    return { type, charset: params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '') ?? 'utf-8' };
  };
  const { type, charset } = typeAndCharset(header('content-type').toLowerCase());
  if (type && !TEXT_TYPE.test(type)) {
    return withheld(`the body is ${scrubber.clip(typeAndCharset(quoted('content-type')).type, 60)}, which the gateway cannot check for the connection's secrets`, read.bytes.length);
  }
  const encoding = CHARSETS.get(charset);
  if (!encoding) {
    return withheld(`the body's charset ${scrubber.clip(typeAndCharset(quoted('content-type')).charset, 30)} is not one the gateway can check for the connection's secrets`, read.bytes.length);
  }
  let text: string;
  try {
    // Streaming: a character the read cut in half is dropped, not an error; anything else invalid is.
    text = encoding === 'latin1' ? read.bytes.toString('latin1') : new TextDecoder('utf-8', { fatal: true }).decode(read.bytes, { stream: read.truncated });
  } catch {
    return withheld('the body is not valid UTF-8 text, so it cannot be checked for the connection\'s secrets', read.bytes.length);
  }
  // NUL is no part of text: UTF-16 sent without its charset decodes as "valid" UTF-8 with a NUL between the characters of a secret.
  if (text.includes('\u0000')) return withheld('the body holds NUL characters (binary, or text in an undeclared encoding such as UTF-16), so it cannot be checked for the connection\'s secrets', read.bytes.length);
  // A read stopped at its bound may end inside a secret: what came from its last characters goes, whatever it holds
  // (scrubber.scrubEnded). Otherwise the whole body was in view, and a cut at the bound falls wherever it falls.
  const scrubbed = read.truncated ? scrubber.scrubEnded(text) : scrubber.scrub(text);
  if (!scrubbed.clean) return withheld("a secret of the connection was found in the body and could not be removed", read.bytes.length);
  let out = scrubbed.text;
  const truncated = read.truncated || Buffer.byteLength(out) > MAX_BODY_BYTES;
  if (Buffer.byteLength(out) > MAX_BODY_BYTES) out = new TextDecoder('utf-8').decode(Buffer.from(out, 'utf8').subarray(0, MAX_BODY_BYTES), { stream: true });
  return { text: out, truncated, bytes: read.bytes.length };
}
