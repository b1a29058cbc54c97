/**
 * The web console, served by the gateway at `/`: sign-in, the inbox (live),
 * request pages with Approve / Deny, Activity, Grants, Audit, Policy and Coverage. Server-
 * rendered HTML with one small script; every route here runs through
 * handlers.ts (security headers, session, CSRF) and every use case is the
 * same one the REST API calls.
 */
import { Hono } from 'hono';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { activityRoutes } from './activity.ts';
import { assetRoutes } from './assets.ts';
import { auditPageRoutes } from './audit-page.ts';
import { auditDownloadRoutes } from './audit-downloads.ts';
import { consoleError } from './handlers.ts';
import { inboxRoutes } from './inbox.ts';
import { createAuthenticator, type Authenticate } from '../../../service/authenticate.ts';
import { coverageReader } from '../../../service/coverage.ts';
import { loginRoutes } from './login.ts';
import { oidcLoginRoutes } from './oidc-login.ts';
import type { ConsoleSettings } from '../context.ts';
import { coveragePageRoutes } from './coverage-page.ts';
import { policyPageRoutes } from './policy-page.ts';
import type { CoverageMap } from '../../../core/policy/coverage.ts';
import type { Principal } from '../../../core/principal.ts';
import { requestPageRoutes } from './request-page.ts';
import { safetyNetRoutes } from './safety-nets.ts';
import { grantPageRoutes } from './grants-page.ts';
import { undoRoutes } from './undo-view.ts';
import { shadowPageRoutes } from './shadow-page.ts';
import { passkeyPageRoutes } from './passkeys-page.ts';
import { stepUpRoutes } from './step-up-page.ts';

export { CONTENT_SECURITY_POLICY } from './handlers.ts';
export { endConsoleSession, readConsoleSession, safeNext, SECURE_SESSION_COOKIE, SESSION_COOKIE, startConsoleSession, type SignedIn } from './session.ts';

/**
 * @example
 * app.route('/', consoleRoutes(deps));
 */
export function consoleRoutes(
  deps: Deps,
  settings: Pick<ConsoleSettings, 'login' | 'clockSkewSeconds'> = {},
  authenticate: Authenticate = createAuthenticator(deps),
  coverage: (caller: Principal) => CoverageMap = coverageReader(deps, []),
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Set before any route: hono applies a sub-app's error handler to the routes it holds.
  app.onError((err, c) => consoleError(deps, err, c));
  app.route('/', assetRoutes());
  app.route('/', loginRoutes(deps, { sso: settings.login !== undefined, authenticate }));
  if (settings.login) app.route('/', oidcLoginRoutes(deps, { ...settings.login, clockSkewSeconds: settings.clockSkewSeconds ?? 60 }, authenticate));
  app.route('/', inboxRoutes(deps));
  app.route('/', requestPageRoutes(deps));
  app.route('/', safetyNetRoutes(deps));
  app.route('/', stepUpRoutes(deps));
  app.route('/', passkeyPageRoutes(deps));
  app.route('/', grantPageRoutes(deps));
  app.route('/', undoRoutes(deps));
  app.route('/', activityRoutes(deps));
  app.route('/', auditPageRoutes(deps));
  app.route('/', auditDownloadRoutes(deps));
  app.route('/', policyPageRoutes(deps));
  app.route('/', shadowPageRoutes(deps));
  app.route('/', coveragePageRoutes(deps, coverage));
  return app;
}
