/**
 * What every chat platform's callback endpoint does before it trusts a
 * byte: read the raw body within a size limit, and refuse a call that does
 * not verify with 401 and a `channel.refused` audit event (the reason and
 * the caller's address, never the credential). Anyone who can reach the URL
 * can send such calls, so at most `perSecond` refusals a second (20) are
 * recorded one by one and the rest are counted on the next one recorded
 * (`suppressedBefore`), as refused tokens are (service/authenticate.ts); when
 * no refusal follows within a second, the last of them is recorded with that count.
 */
import type { Context } from 'hono';
import { isCountersignError } from '../../../core/errors.ts';
import { readBody } from '../body.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { remoteOf } from '../remote.ts';
import type { RefusalReason } from '../../../core/refusals.ts';

/** The raw body, or undefined once it is over `max` bytes (declared, or as they arrive: the rest is never read). */
export async function readLimitedBody(c: Context<AppEnv>, max: number): Promise<Buffer | undefined> {
  try {
    return await readBody(c, max);
  } catch (e) {
    if (isCountersignError(e, 'PAYLOAD_TOO_LARGE')) return undefined;
    throw e;
  }
}

export interface RefusalOptions {
  readonly channel: string;
  readonly reason: RefusalReason;
  readonly message: string;
}

/**
 * One channel endpoint's refusals: each answered 401, recorded as long as the flood gate lets it through.
 *
 * @example
 * const refuseCall = createCallRefusals(deps);
 * if (!check.ok) return refuseCall(c, { channel: 'slack', reason: check.reason, message: 'the call did not verify' });
 */
export function createCallRefusals(deps: Pick<Deps, 'store' | 'clock' | 'log'>, perSecond = 20): (c: Context<AppEnv>, r: RefusalOptions) => Promise<Response> {
  let windowStart = 0;
  let inWindow = 0;
  let suppressed = 0;
  // The last call not recorded, and the timer that records it if no later refusal does: a flood that stops leaves its count.
  let lastSuppressed: Record<string, unknown> = {};
  let pending: NodeJS.Timeout | undefined;
  const flush = () => {
    pending = undefined;
    if (suppressed === 0) return;
    const data: Record<string, unknown> = { ...lastSuppressed, ...(suppressed > 1 ? { suppressedBefore: suppressed - 1 } : {}) };
    suppressed = 0;
    deps.store
      .appendAudit([{ type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: null, actor: null, data }])
      .catch((e: unknown) => deps.log.error({ err: e, channel: data['channel'] }, 'recording suppressed refusals failed'));
  };
  return async (c, r) => {
    const now = deps.clock.now();
    if (now.getTime() - windowStart >= 1000) {
      windowStart = now.getTime();
      inWindow = 0;
    }
    if (++inWindow <= perSecond) {
      const data: Record<string, unknown> = { channel: r.channel, reason: r.reason, ...remoteOf(c) };
      if (suppressed > 0) data['suppressedBefore'] = suppressed;
      suppressed = 0;
      await deps.store.appendAudit([{ type: 'channel.refused', time: now.toISOString(), requestId: null, actor: null, data }]);
      deps.log.warn({ traceId: c.get('traceId'), channel: r.channel, reason: r.reason }, `${r.channel} call refused`);
    } else {
      suppressed++;
      lastSuppressed = { channel: r.channel, reason: r.reason, ...remoteOf(c) };
      pending ??= setTimeout(flush, 1000).unref();
    }
    return c.json({ error: { code: 'UNAUTHENTICATED', message: r.message, reason: r.reason, traceId: c.get('traceId') } }, 401);
  };
}
