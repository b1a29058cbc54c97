/**
 * Scoped grants in the console: the Grants page (active and past grants the human may see, each with Revoke where
 * they may revoke it), the optional grant fields of the review form (only where every rule holding the request
 * permits grants), and the notes on a request page: the grant its approval created, or the grant and use that
 * approved it. The use cases refuse regardless of what the page offers.
 */
import { Hono } from 'hono';
import { assertMayRevokeGrant, grantStatus, type Grant, type GrantStatus } from '../../../core/grant.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Deps } from '../../../service/deps.ts';
import { listGrantsWithRequests, revokeGrant } from '../../../service/grants.ts';
import type { AppEnv } from '../context.ts';
import { ident, scrollingTable, when } from './format.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html, type Html } from './html.ts';
import { csrfField, page } from './layout.ts';

/** The review form's grant fields, and what they become. */
export const GRANT_USES_FIELD = 'grant_uses';
export const GRANT_MINUTES_FIELD = 'grant_minutes';

const PILL: Readonly<Record<GrantStatus, string>> = { active: 'approved', 'used-up': 'expired', expired: 'expired', revoked: 'denied' };

/** The optional grant fields of an approval, shown only where the request's rules permit grants. */
export function grantFields(r: RequestRecord): Html {
  const t = r.decision.effect === 'approve' && r.runsIn !== 'session' ? r.decision.grant : undefined;
  if (!t) return html``;
  const maxMinutes = Math.max(1, Math.floor(t.maxDurationSeconds / 60));
  return html`<fieldset class="grant"><legend>Also approve what comes next <span class="small">(optional)</span></legend>
  <p class="small">The next actions of the same shape: the same requester, connection, operation and facts${t.vary.length ? html`; only ${t.vary.map((p, i) => html`${i ? ', ' : ''}<code>${p}</code>`)} may differ` : ', the same input'}.</p>
  <label for="grant-uses">How many more <span class="small">(1 to ${t.maxUses})</span></label>
  <input id="grant-uses" name="${GRANT_USES_FIELD}" type="number" min="1" max="${t.maxUses}" inputmode="numeric">
  <label for="grant-minutes">For how many minutes <span class="small">(1 to ${maxMinutes})</span></label>
  <input id="grant-minutes" name="${GRANT_MINUTES_FIELD}" type="number" min="1" max="${maxMinutes}" inputmode="numeric">
</fieldset>`;
}

/** The grant an approval form asks for, or undefined when its fields are empty. */
export function grantOfForm(form: URLSearchParams): { uses: number; seconds: number } | undefined {
  const uses = (form.get(GRANT_USES_FIELD) ?? '').trim();
  const minutes = (form.get(GRANT_MINUTES_FIELD) ?? '').trim();
  if (!uses && !minutes) return undefined;
  if (!/^\d{1,6}$/.test(uses) || !/^\d{1,6}$/.test(minutes)) throw new CountersignError('INVALID_REQUEST', 'a grant needs both how many more actions and for how many minutes, as whole numbers');
  return { uses: Number(uses), seconds: Number(minutes) * 60 };
}

/** What a request page says of grants: the one its approval created, or the one that approved it. */
export function grantNote(r: RequestRecord): Html {
  const made = r.grant
    ? html`<p id="grant-made">Its approval granted the next <strong>${r.grant.uses}</strong> action(s) of the same shape until ${when(r.grant.expiresAt)}: ${ident(r.grant.id)} (<a href="/grants">Grants</a>).</p>`
    : '';
  const by = r.grantedBy ? html`<p id="granted-by">Approved by grant ${ident(r.grantedBy.grantId)}, use <strong>${r.grantedBy.use}</strong> of ${r.grantedBy.of}, without a review.</p>` : '';
  return r.grant || r.grantedBy ? html`<h3>Scoped grant</h3>${made}${by}` : html``;
}

function mayRevoke(deps: Deps, who: Who, g: Grant, request: RequestRecord | undefined): boolean {
  try {
    assertMayRevokeGrant(g, request, who.principal, who.viewer.roles, deps.identity);
    return true;
  } catch {
    return false;
  }
}

function row(deps: Deps, who: Who, g: Grant, request: RequestRecord | undefined, now: Date): Html {
  const status = grantStatus(g, now);
  const revoke =
    status === 'active' && mayRevoke(deps, who, g, request)
      ? html`<form method="post" action="/grants/${g.id}/revoke">${csrfField(who.viewer)}<button type="submit" class="deny" aria-label="Revoke grant ${g.id}">Revoke</button></form>`
      : '';
  const whoFor = `${g.principal.id}${g.principal.actsFor ? ` for ${g.principal.actsFor}` : ''}`;
  return html`<tr><td>${ident(g.id)}</td><td><span class="status status-${PILL[status]}">${status}</span></td><td>${g.used} of ${g.uses}</td><td>${whoFor}</td><td>${g.connection} · ${g.operation}</td><td>${when(g.expiresAt)}</td><td>${g.by.map((b) => b.id).join(', ')}</td><td><a href="/requests/${g.requestId}">${ident(g.requestId)}</a></td><td>${revoke}</td></tr>`;
}

export function grantPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/grants',
    consolePage(deps, async (c, who) => {
      const now = deps.clock.now();
      const grants = await listGrantsWithRequests(deps, who.principal);
      const table = grants.length
        ? scrollingTable('Grants table', html`<table>
<caption>Scoped grants, newest first</caption>
<thead><tr><th scope="col">Grant</th><th scope="col">Status</th><th scope="col">Used</th><th scope="col">Who</th><th scope="col">Where</th><th scope="col">Until</th><th scope="col">Given by</th><th scope="col">From</th><th scope="col">Revoke</th></tr></thead>
<tbody>${grants.map((e) => row(deps, who, e.grant, e.request, now))}</tbody></table>`)
        : html`<p class="none">No grants you may see.</p>`;
      const done = c.req.query('done') === 'revoked' ? html`<div class="notice ok" role="status"><p>The grant is revoked: the next action of its shape is held for review.</p></div>` : '';
      const body = html`<h1>Grants</h1>${done}
<p>A scoped grant approves the next few actions of one shape for a while, given with an approval where the rules permit it. Revoke one to hold the next action for review again.</p>
${table}`;
      return c.html(page({ title: 'Grants', viewer: who.viewer, active: 'grants', body }).value);
    }),
  );
  app.post(
    '/grants/:id/revoke',
    consoleForm(deps, async (c, who) => {
      await revokeGrant(deps, who.principal, c.req.param('id') ?? '', 'console');
      return c.redirect('/grants?done=revoked', 303);
    }),
  );
  return app;
}
