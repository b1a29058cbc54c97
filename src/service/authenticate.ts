/**
 * Authenticates a bearer credential for any surface. A refusal is evidence:
 * it lands in the audit log as `auth.failed` with the reason (which check
 * failed, which issuer) and where it came from, never the credential. So
 * that a flood of bad tokens cannot flood the log, at most `perSecond`
 * refusals a second are recorded one by one; the rest are counted and the
 * count rides on the next recorded one. If the audit write fails, the
 * caller is refused all the same. A bearer `csl_…` is `countersign login`'s
 * credential (service/cli-login.ts), looked up among the sign-ins.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import type { RefusalReason } from '../core/refusals.ts';
import { CLI_TOKEN_PREFIX } from '../core/cli-login.ts';
import { CLI_SESSION_METHOD } from './cli-login.ts';
import { resolveSession } from './session-resolve.ts';
import { IN_FORCE_MAX_AGE_MS } from './config-in-force.ts';

export interface AuthMeta {
  /** Where the credential arrived: `http`, `mcp`, `console`, … */
  readonly surface: string;
  readonly remote?: string;
}

export interface Authenticate {
  (bearer: string | undefined, meta: AuthMeta): Promise<Principal>;
  /**
   * Records a refusal decided outside the identity port — a token pasted into
   * the console's key form, an agent's key there, a single sign-on callback
   * that did not verify — under the same rate limit. Never throws.
   */
  refused(reason: RefusalReason, meta: AuthMeta, issuer?: string): Promise<void>;
}

/**
 * @example
 * const authenticate = createAuthenticator(deps);
 * const principal = await authenticate(bearer, { surface: 'http', remote: '127.0.0.1' }); // or throws UNAUTHENTICATED
 */
export function createAuthenticator(deps: Pick<Deps, 'identity' | 'store' | 'clock' | 'log' | 'metrics' | 'signInIssuer' | 'signInGroups' | 'cliSignIn' | 'inForce'>, opts: { perSecond?: number } = {}): Authenticate {
  const perSecond = opts.perSecond ?? 20;
  let windowStart = 0;
  let inWindow = 0;
  let suppressed = 0;

  async function record(reason: RefusalReason, issuer: string | undefined, meta: AuthMeta): Promise<void> {
    const now = deps.clock.now();
    if (now.getTime() - windowStart >= 1000) {
      windowStart = now.getTime();
      inWindow = 0;
    }
    if (++inWindow > perSecond) {
      suppressed++;
      return;
    }
    const data: Record<string, unknown> = { reason, surface: meta.surface };
    if (issuer !== undefined) data.issuer = issuer;
    if (meta.remote !== undefined) data.remote = meta.remote;
    if (suppressed > 0) data.suppressedBefore = suppressed;
    suppressed = 0;
    await deps.store.appendAudit([{ type: 'auth.failed', time: now.toISOString(), requestId: null, actor: null, data }]);
  }

  async function refused(reason: RefusalReason, meta: AuthMeta, issuer?: string): Promise<void> {
    deps.log.info({ reason, issuer, surface: meta.surface }, 'authentication refused');
    deps.metrics.authFailure(reason, meta.surface);
    try {
      await record(reason, issuer, meta);
    } catch (e) {
      deps.log.error({ err: e }, 'could not record auth.failed');
    }
  }

  const authenticate = async (bearer: string | undefined, meta: AuthMeta): Promise<Principal> => {
    if (bearer === undefined) throw new CountersignError('UNAUTHENTICATED', 'send Authorization: Bearer <api key or token>');
    // Credentials are judged only under the config in force (service/config-in-force.ts): a process on a file that
    // another gateway replaced would still let a key the new one removed read its requests and their results.
    await deps.inForce?.check(IN_FORCE_MAX_AGE_MS);
    if (bearer.startsWith(CLI_TOKEN_PREFIX)) {
      // `countersign login`'s credential: a sign-in of the gateway, resolved as a console one is (never a cookie's).
      const signedIn = await resolveSession(deps, bearer);
      if (signedIn?.session.method === CLI_SESSION_METHOD) return signedIn.principal;
      await refused('session.invalid', { ...meta });
      throw new CountersignError('UNAUTHENTICATED', 'the sign-in is unknown, expired or ended: run `countersign login` again', { reason: 'session.invalid' });
    }
    const auth = await deps.identity.authenticate(bearer);
    if (auth.ok) return auth.principal;
    await refused(auth.reason, meta, auth.issuer);
    throw new CountersignError('UNAUTHENTICATED', auth.reason.startsWith('key.') ? 'the API key matches no principal' : `the token was refused (${auth.reason})`, { reason: auth.reason });
  };
  return Object.assign(authenticate, { refused });
}
