/**
 * What every chat platform's callback endpoint does before it trusts a
 * byte: read the raw body within a size limit, and refuse a call that does
 * not verify with 401 and a `channel.refused` audit event (the reason and
 * the caller's address, never the credential).
 */
import type { Context } from 'hono';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { remoteOf } from '../remote.ts';
import type { RefusalReason } from '../../../core/refusals.ts';

/** The raw body, or undefined when it is over `max` bytes (declared or actual). */
export async function readLimitedBody(c: Context<AppEnv>, max: number): Promise<Buffer | undefined> {
  if (Number(c.req.header('content-length') ?? 0) > max) return undefined;
  const body = Buffer.from(await c.req.arrayBuffer());
  return body.length > max ? undefined : body;
}

/**
 * @example
 * if (!check.ok) return refuseCall(c, deps, { channel: 'slack', reason: check.reason, message: 'the call did not verify' });
 */
export async function refuseCall(c: Context<AppEnv>, deps: Pick<Deps, 'store' | 'clock' | 'log'>, r: { channel: string; reason: RefusalReason; message: string }): Promise<Response> {
  await deps.store.appendAudit([{ type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: null, actor: null, data: { channel: r.channel, reason: r.reason, ...remoteOf(c) } }]);
  deps.log.warn({ traceId: c.get('traceId'), channel: r.channel, reason: r.reason }, `${r.channel} call refused`);
  return c.json({ error: { code: 'UNAUTHENTICATED', message: r.message, reason: r.reason, traceId: c.get('traceId') } }, 401);
}
