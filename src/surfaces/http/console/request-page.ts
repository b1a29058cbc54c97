/**
 * The request page: everything a reviewer needs to decide — the exact action
 * first (in the heading, with its risks), the exact input, facts, the
 * agent's claim (unverified, collapsed past a few lines), the matched rules
 * and their conditions, approvals given and still needed, the digest — and
 * Approve / Deny. The Approve button names what it does ("Approve and run
 * POST /refunds on billing-api" when this approval completes the quorum);
 * on a production or PII connection it needs a ticked confirmation, which
 * the server checks (CONFIRMATION_REQUIRED), not only the browser. The
 * buttons appear only where the core's review rules allow; the review form
 * goes through the same review use case as the REST API, which refuses
 * regardless, and binds the review to the digest the page showed.
 */
import { Hono } from 'hono';
import type { CompiledPolicy } from '../../../core/policy/compile.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { isRequesterSide, remainingApprovals, traitsOf } from '../../../core/review.ts';
import { previewLines, type RequestPreview } from '../../../core/preview.ts';
import { approvalStep, approveLabel, confirmText, reviewBrief, type ReviewBrief } from '../../../core/review-brief.ts';
import { boundedJson, PREVIEW_LINES, previewText } from '../../../core/bounded-text.ts';
import { redactInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { AUDIT_READERS, hasAnyRole } from '../../../core/roles.ts';
import type { Deps } from '../../../service/deps.ts';
import { getRequest, reviewability } from '../../../service/read.ts';
import { requestHistory } from '../../../service/request-history.ts';
import { review } from '../../../service/review.ts';
import type { AppEnv } from '../context.ts';
import { countdown, ident, requester, statusPill, tags, when } from './format.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html, type Html } from './html.ts';
import { approversOf } from '../../../core/escalation.ts';
import { factsView, inputView, RENDER_LIMIT, sessionView } from './input-view.ts';
import { csrfField, page } from './layout.ts';
import { timeline } from './timeline.ts';
import { hasSafetyNets, safetyNetsView } from './safety-nets.ts';
import { undoSection } from './undo-view.ts';
import { requiresStepUp } from '../../../core/step-up.ts';
import { grantFields, grantNote, grantOfForm } from './grants-page.ts';

const WHY_NOT: Readonly<Record<string, string>> = {
  REQUEST_NOT_PENDING: 'This request is no longer pending; its decision is final.',
  SELF_APPROVAL_FORBIDDEN: 'You asked for this request, or the agent acts for you: someone else must review it.',
  NOT_AN_APPROVER: 'You are not among the approvers this request needs.',
  ALREADY_REVIEWED: 'You have already reviewed this request; each human counts once.',
  AGENT_CANNOT_REVIEW: 'Only humans review.',
};

const DONE: Readonly<Record<string, string>> = {
  approve: 'Your approval is recorded.',
  deny: 'Your denial is recorded; the request is denied.',
  'break-glass': 'You broke the glass: the action ran at once, and every channel was told.',
};

function rulesView(r: RequestRecord, policy: CompiledPolicy): Html {
  const current = policy.hash === r.decision.policyHash;
  const specs = new Map(policy.spec.rules.map((s) => [s.id, s]));
  const rows = r.decision.rules.map((id) => {
    const spec = current ? specs.get(id) : undefined;
    return html`<li><strong>${ident(id)}</strong>${spec ? html` — ${spec.effect}, because <code class="cel">${spec.when}</code> is true${spec.message ? html` (${spec.message})` : ''}` : ''}</li>`;
  });
  return html`<p>Decision: <strong>${r.decision.effect}</strong>${r.decision.message ? html` — ${r.decision.message}` : ''}</p>
${rows.length ? html`<ul class="rules">${rows}</ul>` : html`<p class="none">No rule matched; the default applied.</p>`}
${r.decision.errors.length ? html`<ul class="rules errors">${r.decision.errors.map((e) => html`<li>${ident(e.rule)}: ${e.message}</li>`)}</ul>` : ''}
<p class="small">Policy <code class="digest">${r.decision.policyHash}</code>${current ? ' (in force now)' : ' — the policy has changed since; conditions are not shown from a different version'}.</p>`;
}

function approvalsView(r: RequestRecord): Html {
  const remaining = remainingApprovals(approversOf(r), r.reviews, r);
  const needs = approversOf(r).map((req, i) => {
    const who = [...req.groups.map((g) => `group ${g}`), ...req.principals].join(' or ') || 'any human';
    const left = remaining[i]?.needed ?? 0;
    return html`<li>${req.count} of ${who} (rule ${ident(req.rule)}): ${r.status === 'pending' ? (left === 0 ? 'met' : `${left} still needed`) : `${req.count - left} given`}</li>`;
  });
  const given = r.reviews.map((v) => html`<li><strong>${v.reviewer.id}</strong> ${v.verdict === 'approve' ? 'approved' : 'denied'}${v.stepUp ? ' with a passkey' : ''} ${when(v.createdAt)}${v.comment ? html`: <q>${v.comment}</q>` : ''}</li>`);
  return html`${needs.length ? html`<ul>${needs}</ul>` : html`<p class="none">No approvals required.</p>`}
<h3>Reviews given</h3>${given.length ? html`<ul class="reviews">${given}</ul>` : html`<p class="none">None yet.</p>`}`;
}

/** The form field a production or PII approval must carry, and its value. */
export const CONFIRM_FIELD = 'confirm';
const CONFIRMED = 'yes';

/** A step-up request's note: approving needs a passkey (and where to register one, for a reviewer without). */
function stepUpNote(hasPasskey: boolean): Html {
  return html`<p class="consequence" id="step-up">Approving needs your passkey: your device will ask you to confirm.</p>
${hasPasskey ? '' : html`<p class="notice" id="step-up-register">You have no passkey yet. <a href="/account/passkeys">Register a passkey</a>, then approve here.</p>`}
<p class="small" data-passkey-status role="status" aria-live="polite"></p>`;
}

function reviewForm(r: RequestRecord, who: Who, brief: ReviewBrief, stepUp: { hasPasskey: boolean } | undefined): Html {
  const can = reviewability(who.principal, r);
  if (!can.reviewable) return html`<p class="notice" id="no-review">${WHY_NOT[can.why ?? ''] ?? `You cannot review this request (${can.why}).`}</p>`;
  const step = approvalStep(r, who.principal);
  // Deny needs no confirmation: formnovalidate lets it through a required box the reviewer left empty.
  // A step-up request's Approve runs the passkey confirmation (passkeys.js); the plain form is refused (STEP_UP_REQUIRED).
  // Approve takes no click that lands as the page appears (data-deliberate, console.js): another site's page cannot
  // open this one under the second click of a double-click it asked for and have it approve.
  return html`<form method="post" action="/requests/${r.id}/review" class="review"${stepUp ? html` data-step-up="/requests/${r.id}/step-up"` : ''}>
  ${csrfField(who.viewer)}
  <input type="hidden" name="digest" value="${r.digest}">
  <label for="comment">Comment <span class="small">(kept in the audit log)</span></label>
  <textarea id="comment" name="comment" rows="2" maxlength="4000"></textarea>
  ${step.completes ? html`<p class="consequence">Approving runs it at once: <strong>${brief.action}</strong></p>` : html`<p class="consequence">Your approval is ${step.nth} of ${step.of} needed; it runs on the last.</p>`}
  ${stepUp ? stepUpNote(stepUp.hasPasskey) : ''}
  ${brief.confirm ? html`<label class="confirm"><input type="checkbox" name="${CONFIRM_FIELD}" value="${CONFIRMED}" required> ${confirmText(brief)}</label>` : ''}
  ${grantFields(r)}
  <div class="buttons">
    <button type="submit" name="verdict" value="approve" class="approve" data-deliberate>${approveLabel(r, step)}</button>
    <button type="submit" name="verdict" value="deny" class="deny" formnovalidate>Deny</button>
  </div>
  <p class="small" data-deliberate-status role="status" aria-live="polite"></p>
</form>`;
}

/** Agent text shown before "show more". */
const CLAIM_PREVIEW = 300;

/** The agent's reason: its claim, unverified, capped with a "show more" that works without script. */
function claimView(reason: string): Html {
  if (!reason) return html`<p class="none">No reason given.</p>`;
  const head = previewText(reason, CLAIM_PREVIEW, PREVIEW_LINES);
  if (!head.cut) return html`<blockquote class="reason">${reason}</blockquote>`;
  return html`<blockquote class="reason preview">${head.text}…</blockquote>
<details class="claim"><summary>Show more (${reason.length.toLocaleString('en')} characters in all)</summary><blockquote class="reason">${reason}</blockquote></details>`;
}

function riskView(brief: ReviewBrief): Html {
  return html`<p class="risk" aria-label="Risk">Risk: ${brief.risks.length ? brief.risks.map((f, i) => html`${i ? ' · ' : ''}<strong class="risk-flag">${f}</strong>`) : html`<span class="risk-none">read-only</span>`}</p>`;
}

/** What the write would change, measured in a rolled-back transaction; or why it was not run. */
function previewView(p: RequestPreview): Html {
  const lines = previewLines(p);
  const plans = p.status === 'previewed' ? p.statements.map((st) => st.plan ?? '') : [];
  return html`<ul class="preview">${lines.map((l, i) => html`<li>${l}${plans[i] ? html`<br><span class="small">Plan: <code>${plans[i]}</code></span>` : ''}</li>`)}</ul>
<p class="small">${p.status === 'previewed' ? 'Measured by running it in a transaction that was rolled back' : 'Nothing was changed'} ${when(p.at)}; the count may differ when it runs.</p>`;
}

function resultView(r: RequestRecord): Html {
  if (r.error) return html`<div class="notice error"><p><strong>${r.error.code}</strong>: ${r.error.message}</p></div>`;
  if (r.status === 'succeeded') {
    const out = boundedJson(r.result, RENDER_LIMIT);
    return html`<pre class="code"><code>${out.text}${out.cut ? '…' : ''}</code></pre>${out.cut ? html`<p class="small">Cut at ${RENDER_LIMIT} characters; the audit log holds the whole result.</p>` : ''}`;
  }
  return html``;
}

async function render(deps: Deps, who: Who, id: string, done?: string): Promise<Html> {
  const r = await getRequest(deps, who.principal, id);
  const events = await requestHistory(deps, who.principal, id);
  const now = deps.clock.now();
  const brief = reviewBrief(r);
  const stepUp = requiresStepUp(r) && r.status === 'pending' ? { hasPasskey: (await deps.store.passkeysOf(who.principal.id)).length > 0 } : undefined;
  // `?done=` is only where the review form's redirect lands: a link anyone sends may carry it, so the notice shows
  // only for what this human did (her review with that verdict, her break-glass), never a decision she did not take.
  const did = done === 'break-glass' ? r.breakGlass?.by === who.principal.id : r.reviews.some((v) => v.reviewer.id === who.principal.id && v.verdict === done);
  const body = html`${done && DONE[done] && did ? html`<div class="notice ok" role="status"><p>${DONE[done]}</p></div>` : ''}
<header class="request-head">
  <p class="meta">${statusPill(r.status)} <span class="op">${r.action.operation}</span> · asked by ${requester(r)} ${when(r.createdAt)}${r.status === 'pending' ? html` · ${countdown(r.expiresAt, now)}` : ''} · <code class="id">${r.id}</code></p>
  <h1 class="action-line"><code>${brief.action}</code></h1>
  ${riskView(brief)}
  ${sessionView(r)}
  ${tags(r.connection)}
</header>
<div class="columns">
<div>
<section aria-labelledby="h-input"><h2 id="h-input">Exact input</h2>${inputView(r)}</section>
<section aria-labelledby="h-reason"><h2 id="h-reason">Agent’s claim <span class="small">(unverified)</span></h2>${claimView(r.action.reason)}</section>
<section aria-labelledby="h-facts"><h2 id="h-facts">Facts the gateway derived</h2>${factsView(r.facts)}</section>
${r.preview && !isRequesterSide(r, traitsOf(who.principal), deps.identity) ? html`<section aria-labelledby="h-preview"><h2 id="h-preview">Impact preview</h2>${previewView(r.preview)}</section>` : ''}
</div>
<div>
<section aria-labelledby="h-decide"><h2 id="h-decide">Your decision</h2>${reviewForm(r, who, brief, stepUp)}</section>
${hasSafetyNets(r, who, deps) ? html`<section aria-labelledby="h-nets"><h2 id="h-nets">Safety nets</h2>${safetyNetsView(r, who, deps, stepUp)}</section>` : ''}
<section aria-labelledby="h-approvals"><h2 id="h-approvals">Approvals</h2>${approvalsView(r)}${grantNote(r)}</section>
<section aria-labelledby="h-rules"><h2 id="h-rules">Matched rules</h2>${rulesView(r, deps.policy())}</section>
<section aria-labelledby="h-digest"><h2 id="h-digest">Digest</h2><p><code class="digest">${r.digest}</code></p><p class="small">An approval is for this digest only: the action, principal and connection exactly as shown.</p></section>
</div>
</div>
${undoSection(deps, r, who)}
${r.result !== null || r.error ? html`<section aria-labelledby="h-result"><h2 id="h-result">Result</h2>${resultView(r)}</section>` : ''}
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>${timeline(events, { auditLinks: hasAnyRole(who.viewer.roles, AUDIT_READERS) })}</section>`;
  return page({ title: `Request ${r.id}`, viewer: who.viewer, body, passkeys: stepUp !== undefined });
}

export function requestPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/requests/:id',
    consolePage(deps, async (c, who) => c.html((await render(deps, who, (c.req.param('id') ?? ''), c.req.query('done'))).value)),
  );
  app.post(
    '/requests/:id/review',
    consoleForm(deps, async (c, who, form) => {
      const verdict = form.get('verdict');
      if (verdict !== 'approve' && verdict !== 'deny') throw new CountersignError('INVALID_REQUEST', 'verdict: approve or deny');
      const comment = form.get('comment') ?? '';
      if (comment.length > 4000) throw new CountersignError('INVALID_REQUEST', 'comment: at most 4000 characters');
      const digest = form.get('digest');
      const id = (c.req.param('id') ?? '');
      // Production and PII approvals carry the ticked confirmation; a form without it is refused here, not only by the browser.
      // Someone who may not review at all hears why from the review use case, not about a box to tick.
      if (verdict === 'approve' && form.get(CONFIRM_FIELD) !== CONFIRMED) {
        const r = await getRequest(deps, who.principal, id);
        if (reviewBrief(r).confirm && reviewability(who.principal, r).reviewable) throw new CountersignError('CONFIRMATION_REQUIRED', 'this connection is tagged production or PII: tick the confirmation to approve');
      }
      // The grant fields go with an approval only: a reviewer who filled them and then denied meant the deny.
      const grant = verdict === 'approve' ? grantOfForm(form) : undefined;
      await review(deps, { reviewer: who.principal, requestId: id, verdict, comment, ...(digest ? { digest } : {}), ...(grant ? { grant } : {}) });
      return c.redirect(`/requests/${encodeURIComponent(id)}?done=${verdict}`, 303);
    }),
  );
  app.get(
    '/requests/:id/input.json',
    consolePage(deps, async (c, who) => {
      // Whoever may open the page may download its input: the same read, the same refusals.
      const r = await getRequest(deps, who.principal, c.req.param('id') ?? '');
      c.header('content-disposition', `attachment; filename="${r.id.replace(/[^A-Za-z0-9_-]/g, '_')}-input.json"`);
      return c.body(JSON.stringify(redactInput(r.action.input)), 200, { 'content-type': 'application/json; charset=utf-8' });
    }),
  );
  return app;
}
