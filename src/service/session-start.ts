/**
 * Session start: a human who has just proved who they are (an API key typed
 * into the console's sign-in form today; an OIDC login later) gets a console
 * session. Only humans: an agent has its API key and the REST API, and the
 * console's forms would let it act as a reviewer in a browser.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { sessionKey, sessionRef, type Session } from '../core/session.ts';
import type { Deps } from './deps.ts';
import { withIdentity } from './views.ts';

export interface StartSessionCommand {
  /** The human, as the login just verified them. */
  readonly principal: Principal;
  /** How they proved it: `api-key`, `oidc`, … (kept on the session and in the audit log). */
  readonly method: string;
  readonly ttlSeconds: number;
  /** The API key the human signed in with, as core/session.ts apiKeyRef names it (method `api-key`). */
  readonly credential?: string;
  /** Where the sign-in came from (client address, user agent), for the audit log. */
  readonly context?: Readonly<Record<string, string>>;
  /** Put before the random token (`csl_` for the CLI's credential, which bearer authentication routes by it). */
  readonly tokenPrefix?: string;
}

/**
 * Creates the session and its `session.started` event in one transaction;
 * returns the token for the cookie (shown nowhere else, stored only hashed).
 *
 * @example
 * const { token, session } = await startSession(deps, { principal: alice, method: 'api-key', ttlSeconds: 8 * 3600 });
 */
export async function startSession(deps: Pick<Deps, 'store' | 'clock' | 'ids'>, cmd: StartSessionCommand): Promise<{ token: string; session: Session }> {
  if (cmd.principal.kind !== 'human') {
    throw new CountersignError('AGENT_CANNOT_SIGN_IN', `${cmd.principal.id} is an agent; only humans sign in to the console`);
  }
  const now = deps.clock.now();
  const token = `${cmd.tokenPrefix ?? ''}${deps.ids.token()}`;
  const session: Session = {
    key: sessionKey(token),
    principal: cmd.principal,
    method: cmd.method,
    ...(cmd.credential !== undefined ? { credential: cmd.credential } : {}),
    csrfToken: deps.ids.token(),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + cmd.ttlSeconds * 1000).toISOString(),
  };
  await deps.store.insertSession(session, [
    {
      type: 'session.started',
      time: session.createdAt,
      requestId: null,
      actor: cmd.principal.id,
      data: { session: sessionRef(session.key), method: cmd.method, ...withIdentity(cmd.principal), groups: [...cmd.principal.groups], expiresAt: session.expiresAt, context: cmd.context ?? {} },
    },
  ]);
  return { token, session };
}
