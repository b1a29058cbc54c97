/**
 * How every console route runs: strict security headers, the signed-in human
 * (or the sign-in page), and for forms the origin check, the size limit and
 * the CSRF token before the handler sees a field. Errors become an HTML page
 * with the same stable code and status the REST API would send.
 */
import type { Context, Handler } from 'hono';
import { CountersignError, isCountersignError } from '../../../core/errors.ts';
import type { Deps } from '../../../service/deps.ts';
import { listRequests } from '../../../service/read.ts';
import { readText } from '../body.ts';
import type { AppEnv } from '../context.ts';
import { HTTP_STATUS } from '../errors.ts';
import { html } from './html.ts';
import { page, type Viewer } from './layout.ts';
import { assertCsrf, assertSameOrigin, readConsoleSession, type SignedIn } from './session.ts';

/** Nothing but the gateway's own script, styles and connections; no framing, no foreign form targets. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(c: Context<AppEnv>): void {
  c.header('content-security-policy', CONTENT_SECURITY_POLICY);
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
  c.header('cross-origin-opener-policy', 'same-origin');
  c.header('cache-control', 'no-store');
}

/** A signed-in human with what every page shows them (the badge, the CSRF token for sign-out). */
export interface Who extends SignedIn {
  readonly viewer: Viewer;
}

/** Pending requests this human may review now, newest first. */
export function inboxOf(deps: Deps, who: Pick<SignedIn, 'principal'>) {
  return listRequests(deps, who.principal, { status: ['pending'], reviewable: true, limit: 200 });
}

async function who(c: Context<AppEnv>, deps: Deps): Promise<Who | undefined> {
  const signedIn = await readConsoleSession(c, deps);
  if (!signedIn) return undefined;
  const inboxCount = (await inboxOf(deps, signedIn)).length;
  return { ...signedIn, viewer: { id: signedIn.principal.id, groups: signedIn.principal.groups, roles: deps.identity.roles(signedIn.principal), csrfToken: signedIn.session.csrfToken, inboxCount } };
}

/** A page for signed-in humans; anyone else goes to the sign-in page and comes back after. */
export function consolePage(deps: Deps, handler: (c: Context<AppEnv>, who: Who) => Response | Promise<Response>): Handler<AppEnv> {
  return async (c) => {
    securityHeaders(c);
    const w = await who(c, deps);
    if (!w) {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    return handler(c, w);
  };
}

/** Reads an urlencoded form within the body limit (PAYLOAD_TOO_LARGE past it). */
export async function formFields(c: Context<AppEnv>): Promise<URLSearchParams> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new CountersignError('INVALID_REQUEST', 'send the form as application/x-www-form-urlencoded');
  // Read as it arrives within the limit: the sign-in form takes bodies from anyone, before any credential.
  return new URLSearchParams(await readText(c, c.get('bodyLimit')));
}

/**
 * A state-changing form of a signed-in human: same origin, then the CSRF
 * token, then the handler. Without a session it is 401: a form is never
 * replayed after sign-in.
 */
export function consoleForm(deps: Deps, handler: (c: Context<AppEnv>, who: Who, form: URLSearchParams) => Response | Promise<Response>): Handler<AppEnv> {
  return async (c) => {
    securityHeaders(c);
    const w = await who(c, deps);
    if (!w) throw new CountersignError('UNAUTHENTICATED', 'sign in to the console first');
    assertSameOrigin(c);
    const form = await formFields(c);
    assertCsrf(w.session, form.get('_csrf'));
    return handler(c, w, form);
  };
}

/** The console's error page: the stable code, a message a human can act on, the trace id. */
export function consoleError(deps: Deps, err: Error, c: Context<AppEnv>): Response {
  securityHeaders(c);
  const traceId = c.get('traceId');
  let status = 500;
  let code = 'INTERNAL';
  let message = 'an unexpected error occurred; nothing ran because of it';
  if (isCountersignError(err)) {
    status = HTTP_STATUS[err.code];
    code = err.code;
    message = err.message;
    if (status >= 500) deps.log.error({ traceId, code, ...err.details }, err.message);
  } else {
    deps.log.error({ traceId, err }, 'unhandled console error');
  }
  const body = html`<h1>Not done</h1>
<div class="notice error" role="alert"><p><strong>${code}</strong>: ${message}</p>${
    code === 'ROLE_REQUIRED' ? html`<p>This page is for auditors and administrators. Whoever runs this gateway can give you a role in its configuration (<code>roles</code>).</p>` : ''
  }</div>
<p>Trace id <code>${traceId}</code>. ${code === 'UNAUTHENTICATED' ? html`<a href="/login">Sign in</a>` : html`<a href="/">Back to the inbox</a>`}</p>`;
  return c.html(page({ title: code, body }).value, status as 400);
}
