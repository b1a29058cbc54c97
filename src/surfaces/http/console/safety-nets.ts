/**
 * The request page's safety nets: the escalation ladder (each rung, when it is
 * due, when it fired), the break-glass form for a human of a break-glass group
 * (a justification is required, by the browser and again by the use case), and
 * once someone broke the glass, who, why and the after-the-fact review — with
 * its form for a human who may give it. Forms appear only where the core's
 * rules allow; the use cases refuse regardless. On a request that needs a
 * step-up, breaking the glass runs the passkey confirmation first (passkeys.js,
 * the two step-up routes below, service/break-glass-step-up.ts).
 */
import { Hono } from 'hono';
import { assertMayBreakGlass, assertMayReviewAfter, isAfterTheFact, MAX_JUSTIFICATION } from '../../../core/break-glass.ts';
import { ladderOf } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { breakGlass } from '../../../service/break-glass.ts';
import { breakGlassOptions, breakGlassWithPasskey } from '../../../service/break-glass-step-up.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { when } from './format.ts';
import { consoleForm, type Who } from './handlers.ts';
import { html, type Html } from './html.ts';
import { credentialField, jsonAnswer } from './json-answer.ts';
import { csrfField } from './layout.ts';

const allowed = (check: () => void): boolean => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};

const whom = (groups: readonly string[], principals: readonly string[]) => [...groups.map((g) => `group ${g}`), ...principals].join(', ');

function ladderView(r: RequestRecord): Html {
  const rungs = ladderOf(r);
  if (rungs.length === 0) return html``;
  return html`<h3>Escalation</h3><ol class="ladder">${rungs.map(
    (x) => html`<li>To ${whom(x.groups, x.principals)} (rule <code>${x.rule}</code>): ${x.firedAt ? html`<strong>fired</strong> ${when(x.firedAt)}` : r.status === 'pending' ? html`due ${when(x.dueAt)}` : 'not needed'}</li>`,
  )}</ol>`;
}

/** Whether the human breaking the glass holds a passkey, on a request that needs a step-up; undefined on one that does not. */
export type BreakGlassStepUp = { readonly hasPasskey: boolean } | undefined;

function breakGlassForm(r: RequestRecord, who: Who, deps: Deps, stepUp: BreakGlassStepUp): Html {
  if (r.status !== 'pending' || !allowed(() => assertMayBreakGlass(r, who.principal, deps.identity))) return html``;
  // On a step-up request the button runs the passkey confirmation (passkeys.js); the plain form is refused (STEP_UP_REQUIRED).
  return html`<form method="post" action="/requests/${r.id}/break-glass" class="break-glass"${stepUp ? html` data-break-glass-step-up="/requests/${r.id}/break-glass/step-up"` : ''}>
  ${csrfField(who.viewer)}
  <input type="hidden" name="digest" value="${r.digest}">
  <p class="consequence">Break the glass: run it <strong>now</strong>, on your own authority, without the approvals. Every channel is told, and another human reviews it afterwards.</p>
  ${stepUp ? html`<p class="consequence" id="break-glass-step-up">Breaking the glass needs your passkey: your device will ask you to confirm.</p>${stepUp.hasPasskey ? '' : html`<p class="notice" id="break-glass-register">You have no passkey yet. <a href="/account/passkeys">Register a passkey</a>, then break the glass here.</p>`}
  <p class="small" data-passkey-status role="status" aria-live="polite"></p>` : ''}
  <label for="justification">Justification <span class="small">(required; kept in the audit log)</span></label>
  <textarea id="justification" name="justification" rows="2" maxlength="${MAX_JUSTIFICATION}" required></textarea>
  <div class="buttons"><button type="submit" class="deny">Break the glass and run it</button></div>
</form>`;
}

function afterTheFactView(r: RequestRecord, who: Who, deps: Deps): Html {
  const bg = r.breakGlass;
  if (!bg) return html``;
  const head = html`<h3>Break-glass</h3><p class="notice error" id="break-glass">Run by <strong>${bg.by}</strong> ${when(bg.at)} without its approvals: <q>${bg.justification}</q></p>`;
  if (bg.review) {
    return html`${head}<p id="after-review">Reviewed after the fact by <strong>${bg.review.by}</strong> ${when(bg.review.at)}: ${bg.review.verdict === 'approve' ? 'warranted' : 'not warranted'}${bg.review.comment ? html` — <q>${bg.review.comment}</q>` : ''}</p>`;
  }
  const may = isAfterTheFact(r) && allowed(() => assertMayReviewAfter(r, who.principal, deps.identity));
  return html`${head}<p id="after-review">Not reviewed after the fact yet.</p>${
    may
      ? html`<form method="post" action="/requests/${r.id}/review" class="review">
  ${csrfField(who.viewer)}
  <label for="after-comment">Comment <span class="small">(kept in the audit log)</span></label>
  <textarea id="after-comment" name="comment" rows="2" maxlength="4000"></textarea>
  <div class="buttons">
    <button type="submit" name="verdict" value="approve" class="approve" data-deliberate>It was warranted</button>
    <button type="submit" name="verdict" value="deny" class="deny">It was not warranted</button>
  </div>
  <p class="small" data-deliberate-status role="status" aria-live="polite"></p>
</form>`
      : ''
  }`;
}

/** The safety-net section of a request page; empty when the request has none. */
export function safetyNetsView(r: RequestRecord, who: Who, deps: Deps, stepUp?: BreakGlassStepUp): Html {
  return html`${ladderView(r)}${afterTheFactView(r, who, deps)}${breakGlassForm(r, who, deps, stepUp)}`;
}

/** Whether a request page has anything to show under safety nets. */
export function hasSafetyNets(r: RequestRecord, who: Who, deps: Deps): boolean {
  return ladderOf(r).length > 0 || r.breakGlass !== undefined || (r.status === 'pending' && allowed(() => assertMayBreakGlass(r, who.principal, deps.identity)));
}

export function safetyNetRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/requests/:id/break-glass',
    consoleForm(deps, async (c, who, form) => {
      const id = c.req.param('id') ?? '';
      await breakGlass(deps, { by: who.principal, requestId: id, justification: form.get('justification') ?? '', via: 'console' });
      return c.redirect(`/requests/${encodeURIComponent(id)}?done=break-glass`, 303);
    }),
  );
  // A step-up request's break-glass: options bound to this human, this request, its digest and the purpose, then the answer.
  app.post(
    '/requests/:id/break-glass/step-up/options',
    consoleForm(deps, (c, who, form) => jsonAnswer(c, async () => ({ options: await breakGlassOptions(deps, who.principal, c.req.param('id') ?? '', form.get('digest') ?? '') }))),
  );
  app.post(
    '/requests/:id/break-glass/step-up',
    consoleForm(deps, (c, who, form) =>
      jsonAnswer(c, async () => {
        const id = c.req.param('id') ?? '';
        const response = credentialField(form, 'credential');
        await breakGlassWithPasskey(deps, { by: who.principal, requestId: id, digest: form.get('digest') ?? '', justification: form.get('justification') ?? '', response, via: 'console' });
        return { redirect: `/requests/${encodeURIComponent(id)}?done=break-glass` };
      }),
    ),
  );
  return app;
}
