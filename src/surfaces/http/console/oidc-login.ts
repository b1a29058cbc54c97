/**
 * Single sign-on for the console: OpenID Connect authorization code flow
 * with PKCE (S256), state and nonce (openid-client). The flow's secrets
 * wait in a short-lived HttpOnly cookie, sealed with an HMAC and `__Host-`
 * over TLS (oidc-flow-cookie.ts), so no other site can plant one. The callback
 * verifies everything (state, code exchange, ID token signature, issuer,
 * audience, nonce) and marks the flow used in the store, so that it signs in
 * once on any replica (service/login-flow.ts), before a session exists; then
 * `startConsoleSession`.
 * `countersign login` signs in through the same flow (`/auth/cli/start`, with
 * the CLI's loopback address, state and PKCE challenge): its callback ends
 * with a one-time code sent back to that loopback (service/cli-login.ts), no
 * console session.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type * as oidc from 'openid-client';
import { discoverProvider, openidClient } from '../../../adapters/identity/oidc/client.ts';
import type { LoginConfig } from '../../../config/identity-schema.ts';
import { isCountersignError } from '../../../core/errors.ts';
import { isRefusalReason } from '../../../core/refusals.ts';
import type { Authenticate } from '../../../service/authenticate.ts';
import type { Deps } from '../../../service/deps.ts';
import { remoteOf } from '../remote.ts';
import { rememberSignedInHuman } from '../../../service/chat-reviewer.ts';
import { humanFromClaims } from '../../../service/login-human.ts';
import type { AppEnv } from '../context.ts';
import { securityHeaders } from './handlers.ts';
import { html } from './html.ts';
import { page } from './layout.ts';
import { parseCliLoginRequest } from '../../../core/cli-login.ts';
import { issueLoginCode } from '../../../service/cli-login.ts';
import { spendLoginFlow } from '../../../service/login-flow.ts';
import { FLOW_COOKIE, FLOW_MAX_AGE_SECONDS, SECURE_FLOW_COOKIE, flowCookieKey, openFlow, sealFlow, type Flow } from './oidc-flow-cookie.ts';
import { safeNext, secureCookies, startConsoleSession } from './session.ts';

const CALLBACK = '/auth/oidc/callback';
/** How long past a flow's age limit its used-mark stays: more than the skew a flow's seal takes from replicas' clocks. */
const FLOW_MARK_SKEW_SECONDS = 120;

/** Over TLS the __Host- name, which needs Path=/; else the plain name, kept to the flow's own paths. */
function flowCookie(c: Context<AppEnv>): { name: string; path: string; secure: boolean } {
  const secure = secureCookies(c);
  return secure ? { name: SECURE_FLOW_COOKIE, path: '/', secure } : { name: FLOW_COOKIE, path: '/auth/oidc', secure };
}

function redirectUri(c: Context<AppEnv>, login: LoginConfig): string {
  // Without publicUrl, the address the browser used; the provider only redirects to URIs registered with it.
  return `${(login.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, '')}${CALLBACK}`;
}

function failed(c: Context<AppEnv>, message: string, status: 400 | 401 | 502): Response {
  const body = html`<section class="signin"><h1>Sign-in failed</h1><div class="notice error" role="alert"><p>${message}</p></div><p><a href="/login">Back to sign-in</a></p></section>`;
  return c.html(page({ title: 'Sign-in failed', body }).value, status);
}

/**
 * The last step of a CLI sign-in: the human says it is hers before the code goes to the loopback address. The link
 * takes no click that lands as the page appears (data-deliberate, console.js): an agent that opened this page under
 * a double-click it asked for elsewhere gets no code.
 */
function cliConfirmPage(who: string, loopback: string) {
  const body = html`<section class="signin"><h1>Sign in to the command line?</h1>
<p><code>countersign login</code> on this computer asks to act as <strong>${who}</strong>: approving and denying requests from the terminal.</p>
<div class="notice" role="note"><p>Continue only if you ran <code>countersign login</code> yourself, just now, on this computer. If someone sent you this link, or an address to open, close this page: whoever started this sign-in would act as you. Never copy the address that follows to anyone.</p></div>
<p><a class="button" id="cli-continue" href="${loopback}" data-deliberate>Continue to countersign login</a> <a href="/">Cancel</a></p>
<p class="small" data-deliberate-status role="status" aria-live="polite"></p></section>`;
  return page({ title: 'Sign in to the command line', body });
}

export function oidcLoginRoutes(deps: Deps, login: LoginConfig & { readonly clockSkewSeconds: number }, authenticate: Pick<Authenticate, 'refused'>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const flowKey = flowCookieKey(deps.sensitive.derive('countersign oidc flow cookie'));
  let provider: Promise<oidc.Configuration> | undefined;
  const discovered = () => {
    provider ??= discoverProvider(login.issuer, login.clientId, login.clientSecret).catch((e: unknown) => {
      provider = undefined;
      throw e;
    });
    return provider;
  };

  /** Sends the browser to the provider, the flow's secrets sealed in a cookie. */
  async function begin(c: Context<AppEnv>, extra: Pick<Flow, 'next' | 'cli'>): Promise<Response> {
    securityHeaders(c);
    let config: oidc.Configuration;
    let lib: Awaited<ReturnType<typeof openidClient>>;
    try {
      // Discovery loads openid-client: once it succeeded, the library is there.
      config = await discovered();
      lib = await openidClient();
    } catch (e) {
      deps.log.error({ traceId: c.get('traceId'), err: e }, 'OIDC discovery failed');
      return failed(c, 'The identity provider cannot be reached right now. Try again shortly.', 502);
    }
    const flow: Flow = { state: lib.randomState(), verifier: lib.randomPKCECodeVerifier(), nonce: lib.randomNonce(), at: deps.clock.now().getTime(), ...extra };
    const cookie = flowCookie(c);
    setCookie(c, cookie.name, sealFlow(flowKey, flow), {
      path: cookie.path,
      httpOnly: true,
      // Lax: the provider's redirect back is a top-level GET from another site.
      sameSite: 'Lax',
      secure: cookie.secure,
      maxAge: FLOW_MAX_AGE_SECONDS,
    });
    const url = lib.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri(c, login),
      scope: login.scopes.join(' '),
      code_challenge: await lib.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return c.redirect(url.href, 302);
  }

  app.get('/auth/oidc/start', (c) => begin(c, { next: safeNext(c.req.query('next')) }));

  // RFC 8252 §7.3: the CLI's loopback address, its state and its PKCE challenge (S256) ride in the sealed flow.
  app.get('/auth/cli/start', (c) => {
    if (!login.cli) return c.json({ error: { code: 'NOT_FOUND', message: 'this gateway offers no CLI login' } }, 404);
    const parsed = parseCliLoginRequest(c.req.query());
    if (!parsed.ok) {
      securityHeaders(c);
      return failed(c, `This sign-in request is not one countersign login makes (INVALID_REQUEST: ${parsed.why}).`, 400);
    }
    return begin(c, { next: '/', cli: parsed.request });
  });

  app.get(CALLBACK, async (c) => {
    securityHeaders(c);
    const cookie = flowCookie(c);
    const raw = getCookie(c, cookie.name);
    deleteCookie(c, cookie.name, { path: cookie.path, secure: cookie.secure });
    const flow: Flow | undefined = openFlow(flowKey, raw, deps.clock.now());
    const meta = { surface: flow?.cli ? 'cli' : 'console', ...remoteOf(c) };
    if (!flow) {
      await authenticate.refused('login.flow_invalid', meta, login.issuer);
      return failed(c, 'This sign-in was not started here, or took too long. Start again.', 400);
    }
    try {
      const config = await discovered();
      const lib = await openidClient();
      const current = new URL(`${redirectUri(c, login)}${new URL(c.req.url).search}`);
      const tokens = await lib.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      // One sign-in per flow, on any replica, before anything is written for this one: a kept cookie brings no second
      // code (a fresh one from the provider, for the flow's state, nonce and PKCE challenge) to any replica.
      if (!(await spendLoginFlow(deps, flow.state, flow.at, FLOW_MAX_AGE_SECONDS, FLOW_MARK_SKEW_SECONDS))) {
        await authenticate.refused('login.flow_used', meta, login.issuer);
        return failed(c, 'This sign-in has already been used. Start again.', 400);
      }
      const human = humanFromClaims(deps, { issuer: login.issuer, principal: login.principal, groupMap: login.groupMap, trustGroups: login.trustGroups, clockSkewSeconds: login.clockSkewSeconds }, claims);
      // Only an email the provider verified: humanFromClaims keeps no other from the token.
      if (claims['email_verified'] === true) await rememberSignedInHuman(deps, human);
      if (flow.cli) {
        // Back to the CLI's loopback with a code only its verifier redeems: no session, no token in the browser. Not
        // silently: a provider that signs a known browser in without a prompt would otherwise take a reviewer who
        // only clicked a link sent to her straight to a loopback address, with nothing said.
        const back = new URL(flow.cli.redirectUri);
        back.searchParams.set('code', await issueLoginCode(deps, human, flow.cli));
        back.searchParams.set('state', flow.cli.state);
        return c.html(cliConfirmPage(human.id, back.href).value, 200);
      }
      await startConsoleSession(c, deps, human, 'oidc');
      return c.redirect(safeNext(flow.next), 303);
    } catch (e) {
      const reason = isCountersignError(e) ? String(e.details['reason'] ?? e.code) : e instanceof Error ? e.message : String(e);
      deps.log.warn({ traceId: c.get('traceId'), reason, surface: 'console' }, 'OIDC sign-in refused');
      // The audit log gets a stable reason, never the provider's error text (which may quote what it was sent).
      await authenticate.refused(isCountersignError(e) && isRefusalReason(reason) ? reason : 'login.callback_invalid', meta, login.issuer);
      return failed(c, isCountersignError(e) ? e.message : 'The identity provider’s answer did not verify.', 401);
    }
  });
  return app;
}
