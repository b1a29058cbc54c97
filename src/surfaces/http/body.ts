/**
 * Reads and validates a JSON body, turning each kind of bad input into its
 * stable code. On Node the body is read straight from the socket's request,
 * with the size limit enforced as bytes arrive: going through a web Request
 * costs more CPU than the rest of a small request together.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { z } from 'zod';
import { CountersignError } from '../../core/errors.ts';
import { assertJsonTextDepth } from '../../core/json-depth.ts';
import type { AppEnv } from './context.ts';
import { requestHeader } from './headers.ts';

function tooLarge(limit: number): CountersignError {
  return new CountersignError('PAYLOAD_TOO_LARGE', `the body is over ${limit} bytes`);
}

/** The raw body as text, read within `limit` bytes (PAYLOAD_TOO_LARGE past it). */
export async function readText(c: Context<AppEnv>, limit: number): Promise<string> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const declared = Number(requestHeader(c, 'content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!incoming) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export async function jsonBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  const text = await readText(c, c.get('bodyLimit'));
  // Before parsing: everything after it (schemas, canonical JSON, the audit chain) recurses.
  assertJsonTextDepth(text, 'the request body');
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : undefined;
  } catch {
    throw new CountersignError('INVALID_JSON', 'the request body is not valid JSON');
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new CountersignError('INVALID_REQUEST', issues.join('; '), { issues });
  }
  return result.data;
}
