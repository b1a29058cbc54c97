/**
 * One request header, read from Node's raw header list when the request came
 * through the Node server. Asking Hono (`c.req.header`) makes the adapter build
 * a web Headers object of every header the request carries, which on a small
 * request costs more than the rest of its header handling (bench:gateway).
 * A header sent more than once reads as Headers.get reads it: the values
 * joined with ", " (Node's own `incoming.headers` keeps only the first of an
 * Authorization or a User-Agent, which would read differently).
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * `name` in lower case, as HTTP field names compare (RFC 9110 §5.1).
 *
 * @example
 * requestHeader(c, 'idempotency-key'); // 'inv-7-refund', or undefined when not sent
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const raw = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.rawHeaders;
  if (raw === undefined) return c.req.header(name);
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}
