/**
 * The page shell every console page shares: one stylesheet and one script
 * from the gateway itself (the CSP allows nothing else), a skip link, the
 * navigation with the inbox badge, who is signed in and the sign-out form.
 */
import { AUDIT_READERS, hasAnyRole, type Role } from '../../../core/roles.ts';
import { html, type Html } from './html.ts';

export interface Viewer {
  readonly id: string;
  readonly groups: readonly string[];
  /** The roles this human holds: which role-gated items the navigation shows. */
  readonly roles: readonly Role[];
  readonly csrfToken: string;
  /** Pending requests this human may review: the badge. */
  readonly inboxCount: number;
}

export type NavItem = 'inbox' | 'activity' | 'grants' | 'audit' | 'coverage' | 'shadow' | 'policy' | 'passkeys';

/**
 * The navigation: key, path, label and, for a page only some roles may open, those roles. An item is shown only
 * to a viewer holding one of them; the page itself refuses anyone else regardless (ROLE_REQUIRED).
 */
const NAV: readonly (readonly [NavItem, string, string, (readonly Role[])?])[] = [
  ['inbox', '/', 'Inbox'],
  ['activity', '/activity', 'Activity'],
  ['grants', '/grants', 'Grants'],
  ['audit', '/audit', 'Audit', AUDIT_READERS],
  ['coverage', '/coverage', 'Coverage', AUDIT_READERS],
  ['shadow', '/shadow', 'Shadow', AUDIT_READERS],
  ['policy', '/policy', 'Policy'],
  ['passkeys', '/account/passkeys', 'Passkeys'],
];

/** Whether the viewer may open a navigation item (it names no roles, or they hold one of them). */
export function mayOpen(viewer: Pick<Viewer, 'roles'>, roles: readonly Role[] | undefined): boolean {
  return roles === undefined || hasAnyRole(viewer.roles, roles);
}

/** The hidden field that carries the session's CSRF token in every state-changing form. */
export function csrfField(viewer: Pick<Viewer, 'csrfToken'>): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}">`;
}

function badge(count: number): Html {
  return html`<span class="badge" data-inbox-count aria-label="${count} awaiting your review"${count === 0 ? html` hidden` : ''}>${count}</span>`;
}

function nav(viewer: Viewer, active: NavItem | undefined): Html {
  return html`<nav class="top" aria-label="Console">
  <a class="brand" href="/">Countersign</a>
  <ul>${NAV.filter(([, , , roles]) => mayOpen(viewer, roles)).map(
    ([key, href, label]) => html`<li><a href="${href}"${key === active ? html` aria-current="page"` : ''}>${label}${key === 'inbox' ? badge(viewer.inboxCount) : ''}</a></li>`,
  )}</ul>
  <form class="signout" method="post" action="/logout">${csrfField(viewer)}
    <span class="who" title="groups: ${viewer.groups.join(', ') || 'none'}">${viewer.id}</span>
    <button type="submit" class="link">Sign out</button>
  </form>
</nav>`;
}

/**
 * @example
 * c.html(page({ title: 'Inbox', viewer, active: 'inbox', body: html`<p>…</p>` }).value)
 */
export function page(opts: { title: string; viewer?: Viewer; active?: NavItem; body: Html; passkeys?: boolean }): Html {
  const count = opts.viewer?.inboxCount ?? 0;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${count > 0 ? `(${count}) ` : ''}${opts.title} · Countersign</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
${opts.passkeys ? html`<script src="/assets/passkeys.js" defer></script>
` : ''}</head>
<body${opts.viewer ? html` data-live="/inbox/events"` : ''}>
<a class="skip" href="#main">Skip to content</a>
${opts.viewer ? nav(opts.viewer, opts.active) : html`<nav class="top" aria-label="Console"><span class="brand">Countersign</span></nav>`}
<main id="main" tabindex="-1">
${opts.body}
</main>
</body>
</html>`;
}
