/**
 * The request page's Undo section (README "Undo"): whether an approved SQL
 * write can be put back and what it changed — a count, never a row — and, for
 * a human who may ask (a reviewer of it, an auditor or an admin), the button
 * that submits the revert as her own new request.
 */
import { Hono } from 'hono';
import { CountersignError } from '../../../core/errors.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Deps } from '../../../service/deps.ts';
import { mayRevert, requestRevert } from '../../../service/revert.ts';
import type { AppEnv } from '../context.ts';
import { consoleForm, type Who } from './handlers.ts';
import { html, type Html } from './html.ts';
import { csrfField } from './layout.ts';
import { ident } from './format.ts';

/**
 * The section, or nothing for a request without an undo record. Before it runs, a request whose matching rules all
 * say `undo: false` says so and names them, so its reviewers know before approving that it keeps no undo.
 */
export function undoSection(deps: Deps, r: RequestRecord, who: Who): Html {
  const u = r.undo;
  const off = r.decision.noUndo;
  if (!u && off?.length && (r.status === 'pending' || r.status === 'approved')) {
    return html`<section aria-labelledby="h-undo"><h2 id="h-undo">Undo</h2><p>Runs without undo: the policy says <code>undo: false</code> (${off.length === 1 ? 'rule' : 'rules'} ${off.map((id, i) => html`${i ? ', ' : ''}${ident(id)}`)}); no before-image is kept and no row limit applies.</p></section>`;
  }
  if (!u) return html``;
  if (u.status === 'none') return html`<section aria-labelledby="h-undo"><h2 id="h-undo">Undo</h2><p>no undo: ${u.reason}</p></section>`;
  const how = u.command === 'INSERT' ? 'by deleting the rows it inserted' : 'as they were before it ran';
  const what = html`<p>Can be reverted: ${u.rows.length} row${u.rows.length === 1 ? '' : 's'} of ${u.table} (${u.command}), ${how}.</p>`;
  const form =
    r.status === 'succeeded' && mayRevert(deps, who.principal, r)
      ? html`<form method="post" action="/requests/${encodeURIComponent(r.id)}/revert">${csrfField(who.viewer)}
<label>Why <input name="reason" maxlength="4000"></label>
<button type="submit">Ask to revert</button>
<p class="small">A new request of yours on the same connection, held for review like any write; it fails, changing nothing, if any row changed since.</p></form>`
      : html``;
  return html`<section aria-labelledby="h-undo"><h2 id="h-undo">Undo</h2>${what}${form}</section>`;
}

export function undoRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/requests/:id/revert',
    consoleForm(deps, async (c, who, form) => {
      const reason = form.get('reason') ?? '';
      if (reason.length > 4000) throw new CountersignError('INVALID_REQUEST', 'reason: at most 4000 characters');
      const r = await requestRevert(deps, { principal: who.principal, requestId: c.req.param('id') ?? '', ...(reason ? { reason } : {}), context: { surface: 'console' } });
      return c.redirect(`/requests/${encodeURIComponent(r.id)}`, 303);
    }),
  );
  return app;
}
