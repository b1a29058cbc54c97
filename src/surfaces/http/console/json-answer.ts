/**
 * The answer of a console route that the passkey script calls with fetch: JSON, with a stable code and a message
 * on refusal (the same code and status the REST API would send), and where to go on success.
 */
import type { Context } from 'hono';
import { isCountersignError } from '../../../core/errors.ts';
import type { AppEnv } from '../context.ts';
import { HTTP_STATUS } from '../errors.ts';
import { CountersignError } from '../../../core/errors.ts';

export async function jsonAnswer(c: Context<AppEnv>, run: () => Promise<unknown>): Promise<Response> {
  try {
    return c.json(await run());
  } catch (e) {
    if (!isCountersignError(e) || HTTP_STATUS[e.code] >= 500) throw e;
    return c.json({ error: { code: e.code, message: e.message, traceId: c.get('traceId') } }, HTTP_STATUS[e.code] as 400);
  }
}

/** A WebAuthn answer the script sent as a JSON form field; INVALID_REQUEST when it is not a JSON object. */
export function credentialField(form: URLSearchParams, name: string): unknown {
  const text = form.get(name);
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // Refused below, as anything else that is not a credential.
  }
  throw new CountersignError('INVALID_REQUEST', `${name}: a WebAuthn credential as JSON`);
}
