/** Reads and validates a JSON body, turning each kind of bad input into its stable code. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { CountersignError } from '../../core/errors.ts';

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
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
