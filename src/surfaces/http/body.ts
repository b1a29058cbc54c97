/**
 * Reads and validates a JSON body, turning each kind of bad input into its
 * stable code. On Node the body is read straight from the socket's request,
 * with the size limit enforced as bytes arrive: going through a web Request
 * costs more CPU than the rest of a small request together.
 */
import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream';
import type { Context } from 'hono';
import type { z } from 'zod';
import { CountersignError } from '../../core/errors.ts';
import { assertJsonTextDepth } from '../../core/json-depth.ts';
import { jsonKeyClash } from '../../core/json-keys.ts';
import type { AppEnv } from './context.ts';
import { requestHeader } from './headers.ts';

function tooLarge(limit: number): CountersignError {
  return new CountersignError('PAYLOAD_TOO_LARGE', `the body is over ${limit} bytes`);
}

/** The raw body as text, read within `limit` bytes (PAYLOAD_TOO_LARGE past it). */
export async function readText(c: Context<AppEnv>, limit: number): Promise<string> {
  return (await readBody(c, limit)).toString('utf8');
}

/**
 * The raw body's bytes, read within `limit` bytes (PAYLOAD_TOO_LARGE past it). The limit holds as bytes arrive: a
 * chunked body, which declares no length, is never held whole before it is judged, so an endless one from anyone
 * who reaches a public endpoint (a chat callback, the sign-in form) cannot fill the gateway's memory.
 *
 * @example
 * const raw = await readBody(c, 64 * 1024);
 */
export async function readBody(c: Context<AppEnv>, limit: number): Promise<Buffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const declared = Number(requestHeader(c, 'content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!incoming) {
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (bytes.length > limit) throw tooLarge(limit);
    return bytes;
  }
  return readBytes(incoming, limit);
}

/**
 * The body's bytes, as `for await` over the request reads them, without its async iterator (a promise per chunk
 * and per step): end as `finished` says (an error or a close before the end rejects, as the iterator does), and a
 * body past `limit` destroys the request, as leaving the loop by a throw does.
 */
function readBytes(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        over = true;
        incoming.off('data', onData);
        // As leaving a `for await` loop early does (Node's stream destroyer): the request goes, its socket stays for the answer.
        (incoming as { socket: unknown }).socket = null;
        incoming.destroy();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const stop = finished(incoming, { writable: false }, (err) => {
      stop();
      incoming.off('data', onData);
      if (over) return;
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    });
    incoming.on('data', onData);
  });
}

/**
 * The body, parsed and checked against `schema`. `fast`, when given, returns what the schema would for the bodies
 * it recognises (undefined for any other, which the schema then checks and words the refusal of).
 *
 * @example
 * const body = await jsonBody(c, submitBody, plainSubmitBody);
 */
export async function jsonBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S, fast?: (raw: unknown) => z.output<S> | undefined): Promise<z.output<S>> {
  const text = await readText(c, c.get('bodyLimit'));
  // Before parsing: everything after it (schemas, canonical JSON, the audit chain) recurses.
  assertJsonTextDepth(text, 'the request body');
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : undefined;
  } catch {
    throw new CountersignError('INVALID_JSON', 'the request body is not valid JSON');
  }
  // JSON.parse keeps the last of two equal keys, where another reader of the same text (a proxy, an audit of it) keeps the first.
  const twice = jsonKeyClash(text);
  if (twice) throw new CountersignError('INVALID_JSON', `the request body names ${JSON.stringify(twice.first).slice(0, 200)} twice in one object`);
  const plain = fast?.(raw);
  if (plain !== undefined) return plain;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new CountersignError('INVALID_REQUEST', issues.join('; '), { issues });
  }
  return result.data;
}
