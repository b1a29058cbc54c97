/**
 * The gateway's side of `countersign login` besides the browser's flow
 * (oidc-login.ts, `/auth/cli/start`):
 *
 *   GET  /auth/cli         what the CLI may use: the browser sign-in, and the
 *                          device grant's provider and client only when the
 *                          operator turned it on (identity.login.cli.deviceCode)
 *   POST /auth/cli/token   {code, code_verifier, redirect_uri} → {token, expiresAt}
 *                          (service/cli-login.ts; LOGIN_CODE_INVALID otherwise)
 *   POST /auth/cli/logout  Authorization: Bearer csl_… → the sign-in ends (204)
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { CLI_TOKEN_PREFIX } from '../../../core/cli-login.ts';
import { isCountersignError } from '../../../core/errors.ts';
import { DEFAULT_GROUPS_MAX_AGE_SECONDS } from '../../../core/known-human.ts';
import { isRefusalReason } from '../../../core/refusals.ts';
import type { LoginConfig } from '../../../config/identity-schema.ts';
import type { Authenticate } from '../../../service/authenticate.ts';
import { CLI_SESSION_METHOD, redeemLoginCode } from '../../../service/cli-login.ts';
import type { Deps } from '../../../service/deps.ts';
import { endSession } from '../../../service/session-end.ts';
import { resolveSession } from '../../../service/session-resolve.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';
import { requestHeader } from '../headers.ts';
import { remoteOf } from '../remote.ts';

// Every field optional: a missing verifier is the code's refusal (login.verifier_invalid), not a malformed body.
const redemption = z.object({ code: z.string().optional(), code_verifier: z.string().optional(), redirect_uri: z.string().optional() });

export function cliLoginRoutes(deps: Deps, login: LoginConfig, authenticate: Pick<Authenticate, 'refused'>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/auth/cli', (c) => {
    const cli = login.cli;
    if (!cli) return c.json({ error: { code: 'NOT_FOUND', message: 'this gateway offers no CLI login' } }, 404);
    return c.json({
      browser: { start: '/auth/cli/start', token: '/auth/cli/token' },
      ...(cli.deviceCode && cli.clientId
        ? { deviceCode: { issuer: login.issuer, clientId: cli.clientId, scopes: cli.scopes, ...(cli.resource ? { resource: cli.resource } : {}) } }
        : {}),
    });
  });

  app.post('/auth/cli/token', async (c) => {
    if (!login.cli) return c.json({ error: { code: 'NOT_FOUND', message: 'this gateway offers no CLI login' } }, 404);
    const body = await jsonBody(c, redemption);
    // As long as a console sign-in through the provider lasts: its groups count no longer than groupsMaxAge.
    const ttlSeconds = Math.min(c.get('console').sessionTtlSeconds, deps.groupsMaxAgeSeconds ?? DEFAULT_GROUPS_MAX_AGE_SECONDS);
    const ua = c.req.header('user-agent');
    try {
      const { token, session } = await redeemLoginCode(deps, { code: body.code, verifier: body.code_verifier, redirectUri: body.redirect_uri, context: { ...remoteOf(c), ...(ua ? { userAgent: ua.slice(0, 200) } : {}) } }, ttlSeconds);
      c.header('cache-control', 'no-store');
      return c.json({ token, expiresAt: session.expiresAt, principal: { id: session.principal.id, kind: session.principal.kind } });
    } catch (e) {
      const reason = isCountersignError(e, 'LOGIN_CODE_INVALID') ? String(e.details['reason']) : undefined;
      if (reason !== undefined && isRefusalReason(reason)) await authenticate.refused(reason, { surface: 'cli', ...remoteOf(c) }, login.issuer);
      throw e;
    }
  });

  app.post('/auth/cli/logout', async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(requestHeader(c, 'authorization') ?? '');
    const token = m?.[1];
    if (token?.startsWith(CLI_TOKEN_PREFIX)) {
      const signedIn = await resolveSession(deps, token);
      if (signedIn?.session.method === CLI_SESSION_METHOD) await endSession(deps, token, 'logout');
    }
    return c.body(null, 204);
  });
  return app;
}
