/**
 * Driving the web console over plain HTTP, as a browser would: sign in through
 * the form (with its CSRF cookie), then GET pages and POST forms with the
 * session cookie and the page's CSRF token.
 */

export interface ConsoleUser {
  /** `name=value` of the session cookie, for the Cookie header. */
  cookie: string;
  /** The session's CSRF token, as the pages carry it. */
  csrf: string;
  /** The Set-Cookie line the gateway sent at sign-in. */
  setCookie: string;
}

/** The first `_csrf` hidden field of a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}

/** Posts the sign-in form with `key`; returns the response (303 on success). */
export async function postLogin(url: string, key: string, opts: { next?: string } = {}): Promise<Response> {
  const page = await fetch(`${url}/login`);
  const loginCookie = page.headers.getSetCookie().find((c) => c.startsWith('countersign_login='))!.split(';')[0]!;
  const csrf = csrfOf(await page.text());
  return fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, key, next: opts.next ?? '/' }),
  });
}

/** Signs in with `key` and reads the inbox for the CSRF token. */
export async function signIn(url: string, key: string): Promise<ConsoleUser> {
  const res = await postLogin(url, key);
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  const setCookie = res.headers.getSetCookie().find((c) => /^(__Host-)?countersign_session=/.test(c))!;
  const cookie = setCookie.split(';')[0]!;
  const inbox = await fetch(`${url}/`, { headers: { cookie } });
  return { cookie, csrf: csrfOf(await inbox.text()), setCookie };
}

/** GET a console page as a signed-in user (redirects are not followed). */
export function getPage(url: string, user: Pick<ConsoleUser, 'cookie'> | undefined, path: string): Promise<Response> {
  return fetch(`${url}${path}`, { redirect: 'manual', headers: user ? { cookie: user.cookie } : {} });
}

/** POST a console form; `fields` go as application/x-www-form-urlencoded. */
export function postForm(url: string, user: Pick<ConsoleUser, 'cookie'> | undefined, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...(user ? { cookie: user.cookie } : {}), 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}
