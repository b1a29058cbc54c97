/**
 * Session end: sign-out, expiry, a new sign-in in the same browser, a
 * human who is no longer who the session says, or an API key the
 * configuration no longer holds for them. The row goes and
 * `session.ended` is recorded with why, once.
 */
import { sessionKey, sessionRef } from '../core/session.ts';
import type { Deps } from './deps.ts';

export type SessionEndReason = 'logout' | 'expired' | 'replaced' | 'principal-changed' | 'credential-removed';

/** Ends the session stored under `key`; false when there was none (already ended). */
export async function endSessionByKey(deps: Pick<Deps, 'store' | 'clock'>, key: string, reason: SessionEndReason): Promise<boolean> {
  const session = await deps.store.getSession(key);
  if (!session) return false;
  return deps.store.deleteSession(key, [
    { type: 'session.ended', time: deps.clock.now().toISOString(), requestId: null, actor: session.principal.id, data: { session: sessionRef(key), reason } },
  ]);
}

/**
 * @example
 * await endSession(deps, tokenFromCookie, 'logout');
 */
export function endSession(deps: Pick<Deps, 'store' | 'clock'>, token: string, reason: SessionEndReason): Promise<boolean> {
  return endSessionByKey(deps, sessionKey(token), reason);
}

/** Ends every session past its expiry (swept on a timer); returns how many. */
export async function endExpiredSessions(deps: Pick<Deps, 'store' | 'clock'>): Promise<number> {
  let count = 0;
  for (;;) {
    const keys = await deps.store.expiredSessions(deps.clock.now(), 200);
    for (const key of keys) if (await endSessionByKey(deps, key, 'expired')) count++;
    if (keys.length < 200) return count;
  }
}
