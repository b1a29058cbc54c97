/**
 * The body of `POST /v1/actions`: the schema, and the object it makes of a
 * well-formed body read without running it (the route's hot path).
 */
import { z } from 'zod';

export const submitBody = z.strictObject({
  connection: z.string().min(1).max(200),
  input: z.unknown().refine((v) => v !== undefined, 'required'),
  reason: z.string().trim().min(1, 'say why (it is shown to reviewers)').max(4000),
});

export type SubmitBody = z.infer<typeof submitBody>;

/**
 * What `submitBody` makes of a plain object of exactly its three keys, each valid: the same object (keys in the
 * schema's order, the input the same value, the reason trimmed). Anything else, valid or not, is undefined and goes
 * to the schema, which words the refusal (submit-body.test.ts holds the two together).
 *
 * @example
 * plainSubmitBody({ connection: 'billing-api', input: { method: 'GET', path: '/x' }, reason: ' check ' }); // reason 'check'
 */
export function plainSubmitBody(raw: unknown): SubmitBody | undefined {
  if (raw === null || typeof raw !== 'object' || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const r = raw as Record<string, unknown>;
  const { connection, input, reason } = r;
  if (typeof connection !== 'string' || connection.length < 1 || connection.length > 200 || input === undefined || typeof reason !== 'string') return undefined;
  if (Object.keys(r).length !== 3 || !Object.hasOwn(r, 'connection') || !Object.hasOwn(r, 'input') || !Object.hasOwn(r, 'reason')) return undefined;
  const trimmed = reason.trim();
  if (trimmed.length < 1 || trimmed.length > 4000) return undefined;
  return { connection, input, reason: trimmed };
}
