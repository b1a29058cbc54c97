/**
 * The credential of a session that outlives one request (a Postgres wire
 * session): presented once, at its start, and checked again before each
 * action the session sends, as a REST call checks its bearer on every request.
 * A token that expired, a key the identity no longer holds, a credential that
 * names another principal now: the action is refused (the caller closes the
 * session), and the refusal is recorded as `auth.failed` like any other.
 *
 * The verdict is kept for at most `everyMs`, and never past the token's `exp`:
 * from that instant the identity decides again, by the same rules (and clock
 * skew) as for a new connection. A `countersign login` credential is kept
 * `everyMs` (its sign-in's end is seen at the next check).
 */
import { CLI_TOKEN_PREFIX } from '../core/cli-login.ts';
import { CountersignError } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import type { AuthMeta, Authenticate } from './authenticate.ts';

/** How long an accepted credential is not checked again (a token's `exp` ends it sooner). */
export const CREDENTIAL_RECHECK_MS = 1000;

/**
 * A check of the session's credential: resolves while it still names `principal`, throws UNAUTHENTICATED otherwise.
 *
 * @example
 * const check = sessionCredential(authenticate, deps.clock, key, { surface: 'postgres' }, principal);
 * await check(); // before each statement
 */
export function sessionCredential(
  authenticate: Authenticate,
  clock: Clock,
  bearer: string,
  meta: AuthMeta,
  principal: Principal,
  opts: { everyMs?: number } = {},
): () => Promise<void> {
  const everyMs = opts.everyMs ?? CREDENTIAL_RECHECK_MS;
  // A `countersign login` credential is a sign-in of the gateway: the `exp` its principal carries is the one of the ID
  // token it began with, long past while the sign-in lasts; its own end is seen at the next check.
  const signIn = bearer.startsWith(CLI_TOKEN_PREFIX);
  const until = (checked: number, p: Principal) => {
    const exp = signIn ? undefined : p.claims?.['exp'];
    return typeof exp === 'number' ? Math.min(checked + everyMs, exp * 1000) : checked + everyMs;
  };
  let validUntil = until(clock.now().getTime(), principal);
  return async () => {
    const now = clock.now().getTime();
    if (now < validUntil) return;
    const again = await authenticate(bearer, meta);
    if (again.id !== principal.id) throw new CountersignError('UNAUTHENTICATED', `the credential now names another principal than ${principal.id}`);
    validUntil = until(now, again);
  };
}
