/**
 * Sign-in with an API key (the demo's humans and automation humans) and
 * sign-out. The sign-in form has its own CSRF token, a double-submit cookie
 * scoped to /login, so no other site can sign a browser in as someone else.
 * Only humans get a session; an agent's key is refused. Every refusal is an
 * `auth.failed` audit event, as on the API. The form takes API
 * keys only: a token (JWT) is refused like an unknown key, since a session
 * from a pasted bearer token would outlive the token and be recorded as an
 * API-key sign-in; tokens sign in through single sign-on.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { looksLikeJwt } from '../../../core/bearer.ts';
import { isCountersignError } from '../../../core/errors.ts';
import { apiKeyRef } from '../../../core/session.ts';
import type { Authenticate } from '../../../service/authenticate.ts';
import type { Deps } from '../../../service/deps.ts';
import { remoteOf } from '../remote.ts';
import type { AppEnv } from '../context.ts';
import { consoleForm, formFields, securityHeaders } from './handlers.ts';
import { html } from './html.ts';
import { page } from './layout.ts';
import { assertSameOrigin, endConsoleSession, readConsoleSession, safeNext, sameSecret, secureCookies, startConsoleSession } from './session.ts';

const LOGIN_COOKIE = 'countersign_login';

function loginPage(c: Context<AppEnv>, deps: Deps, opts: { next: string; error?: string; status?: number; sso: boolean }): Response {
  const token = deps.ids.token();
  setCookie(c, LOGIN_COOKIE, token, { path: '/login', httpOnly: true, sameSite: 'Strict', secure: secureCookies(c), maxAge: 3600 });
  const body = html`<section class="signin" aria-labelledby="signin-title">
<h1 id="signin-title">Sign in</h1>
<p>Reviewers, admins and auditors sign in here. Agents use their key on the REST API instead.</p>
${opts.error ? html`<div class="notice error" role="alert" id="signin-error"><p>${opts.error}</p></div>` : ''}
${opts.sso ? html`<p><a class="button primary" id="sso" href="/auth/oidc/start?next=${encodeURIComponent(opts.next)}">Sign in with your identity provider</a></p><p>Or, with an API key:</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${token}">
  <input type="hidden" name="next" value="${opts.next}">
  <label for="key">Your API key</label>
  <input id="key" name="key" type="password" autocomplete="current-password" required autofocus${opts.error ? html` aria-describedby="signin-error"` : ''}>
  <button type="submit">Sign in</button>
</form>
</section>`;
  return c.html(page({ title: 'Sign in', body }).value, (opts.status ?? 200) as 200);
}

export function loginRoutes(deps: Deps, opts: { sso: boolean; authenticate: Authenticate }): Hono<AppEnv> {
  const { authenticate } = opts;
  const app = new Hono<AppEnv>();

  app.get('/login', async (c) => {
    securityHeaders(c);
    const next = safeNext(c.req.query('next'));
    if (await readConsoleSession(c, deps)) return c.redirect(next, 303);
    return loginPage(c, deps, { next, sso: opts.sso });
  });

  app.post('/login', async (c) => {
    securityHeaders(c);
    assertSameOrigin(c);
    const form = await formFields(c);
    const next = safeNext(form.get('next'));
    const expected = getCookie(c, LOGIN_COOKIE);
    if (!expected || !sameSecret(form.get('_csrf'), expected)) {
      return loginPage(c, deps, { next, sso: opts.sso, status: 403, error: 'This sign-in form has expired (CSRF_REJECTED). Please try again.' });
    }
    const key = form.get('key') ?? '';
    const meta = { surface: 'console', ...remoteOf(c) };
    const unknown = () => loginPage(c, deps, { next, sso: opts.sso, status: 401, error: 'That key matches no one (UNAUTHENTICATED).' });
    // Every refusal is an auth.failed event with its reason, as on the API; never the key.
    if (looksLikeJwt(key)) {
      await authenticate.refused('key.is_token', meta);
      return unknown();
    }
    let principal;
    try {
      principal = await authenticate(key, meta);
    } catch (e) {
      if (isCountersignError(e, 'UNAUTHENTICATED')) return unknown();
      throw e;
    }
    if (principal.kind !== 'human') {
      deps.log.warn({ traceId: c.get('traceId'), principal: principal.id, surface: 'console' }, 'an agent tried to sign in to the console');
      await authenticate.refused('principal.agent', meta);
      return loginPage(c, deps, { next, sso: opts.sso, status: 403, error: 'That is an agent’s key; only humans sign in to the console (AGENT_CANNOT_SIGN_IN).' });
    }
    // The session lasts while the configuration holds this key for this human (service/session-resolve.ts).
    await startConsoleSession(c, deps, principal, 'api-key', apiKeyRef(key));
    deleteCookie(c, LOGIN_COOKIE, { path: '/login', secure: secureCookies(c) });
    return c.redirect(next, 303);
  });

  app.post(
    '/logout',
    consoleForm(deps, async (c) => {
      await endConsoleSession(c, deps);
      return c.redirect('/login', 303);
    }),
  );
  return app;
}
