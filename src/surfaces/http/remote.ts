/** The peer's address of a request served by @hono/node-server, when there is one. */
import type { Context } from 'hono';

export function remoteOf(c: Context): { remote?: string } {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const remote = incoming?.socket?.remoteAddress;
  return remote ? { remote } : {};
}
