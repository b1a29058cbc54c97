/**
 * The request page: everything a reviewer needs to decide — the exact input,
 * facts, the agent's reason, the matched rules and their conditions,
 * approvals given and still needed, the digest — and Approve / Deny. The
 * buttons appear only where the core's review rules allow; the review form
 * goes through the same review use case as the REST API, which refuses
 * regardless, and binds the review to the digest the page showed.
 */
import { Hono } from 'hono';
import type { CompiledPolicy } from '../../../core/policy/compile.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { remainingApprovals } from '../../../core/review.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { Deps } from '../../../service/deps.ts';
import { getRequest, reviewability } from '../../../service/read.ts';
import { requestHistory } from '../../../service/request-history.ts';
import { review } from '../../../service/review.ts';
import type { AppEnv } from '../context.ts';
import { countdown, requester, statusPill, tags, when } from './format.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html, json, type Html } from './html.ts';
import { factsView, inputView } from './input-view.ts';
import { csrfField, page } from './layout.ts';
import { timeline } from './timeline.ts';

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
};

function rulesView(r: RequestRecord, policy: CompiledPolicy): Html {
  const current = policy.hash === r.decision.policyHash;
  const specs = new Map(policy.spec.rules.map((s) => [s.id, s]));
  const rows = r.decision.rules.map((id) => {
    const spec = current ? specs.get(id) : undefined;
    return html`<li><strong><code>${id}</code></strong>${spec ? html` — ${spec.effect}, because <code class="cel">${spec.when}</code> is true${spec.message ? html` (${spec.message})` : ''}` : ''}</li>`;
  });
  return html`<p>Decision: <strong>${r.decision.effect}</strong>${r.decision.message ? html` — ${r.decision.message}` : ''}</p>
${rows.length ? html`<ul class="rules">${rows}</ul>` : html`<p class="none">No rule matched; the default applied.</p>`}
${r.decision.errors.length ? html`<ul class="rules errors">${r.decision.errors.map((e) => html`<li><code>${e.rule}</code>: ${e.message}</li>`)}</ul>` : ''}
<p class="small">Policy <code>${r.decision.policyHash}</code>${current ? ' (in force now)' : ' — the policy has changed since; conditions are not shown from a different version'}.</p>`;
}

function approvalsView(r: RequestRecord): Html {
  const remaining = remainingApprovals(r.decision.approvers, r.reviews, r);
  const needs = r.decision.approvers.map((req, i) => {
    const who = [...req.groups.map((g) => `group ${g}`), ...req.principals].join(' or ') || 'any human';
    const left = remaining[i]?.needed ?? 0;
    return html`<li>${req.count} of ${who} (rule <code>${req.rule}</code>): ${r.status === 'pending' ? (left === 0 ? 'met' : `${left} still needed`) : `${req.count - left} given`}</li>`;
  });
  const given = r.reviews.map((v) => html`<li><strong>${v.reviewer.id}</strong> ${v.verdict === 'approve' ? 'approved' : 'denied'} ${when(v.createdAt)}${v.comment ? html`: <q>${v.comment}</q>` : ''}</li>`);
  return html`${needs.length ? html`<ul>${needs}</ul>` : html`<p class="none">No approvals required.</p>`}
<h3>Reviews given</h3>${given.length ? html`<ul class="reviews">${given}</ul>` : html`<p class="none">None yet.</p>`}`;
}

function reviewForm(r: RequestRecord, who: Who): Html {
  const can = reviewability(who.principal, r);
  if (!can.reviewable) return html`<p class="notice" id="no-review">${WHY_NOT[can.why ?? ''] ?? `You cannot review this request (${can.why}).`}</p>`;
  return html`<form method="post" action="/requests/${r.id}/review" class="review">
  ${csrfField(who.viewer)}
  <input type="hidden" name="digest" value="${r.digest}">
  <label for="comment">Comment <span class="small">(kept in the audit log)</span></label>
  <textarea id="comment" name="comment" rows="3" maxlength="4000"></textarea>
  <div class="buttons">
    <button type="submit" name="verdict" value="approve" class="approve">Approve</button>
    <button type="submit" name="verdict" value="deny" class="deny">Deny</button>
  </div>
</form>`;
}

function resultView(r: RequestRecord): Html {
  if (r.error) return html`<div class="notice error"><p><strong>${r.error.code}</strong>: ${r.error.message}</p></div>`;
  if (r.status === 'succeeded') return html`<pre class="code"><code>${json(r.result)}</code></pre>`;
  return html``;
}

async function render(deps: Deps, who: Who, id: string, done?: string): Promise<Html> {
  const r = await getRequest(deps, who.principal, id);
  const events = await requestHistory(deps, who.principal, id);
  const now = deps.clock.now();
  const body = html`${done && DONE[done] ? html`<div class="notice ok" role="status"><p>${DONE[done]}</p></div>` : ''}
<header class="request-head">
  <h1>${statusPill(r.status)} <span class="op">${r.action.operation}</span> on <span class="connection">${r.connection.name}</span></h1>
  ${tags(r.connection)}
  <p class="meta">Asked by ${requester(r)} ${when(r.createdAt)}${r.status === 'pending' ? html` · ${countdown(r.expiresAt, now)}` : ''} · <code class="id">${r.id}</code></p>
</header>
<div class="columns">
<div>
<section aria-labelledby="h-reason"><h2 id="h-reason">The agent’s reason</h2><blockquote class="reason">${r.action.reason}</blockquote></section>
<section aria-labelledby="h-input"><h2 id="h-input">Exact input</h2>${inputView(r)}</section>
<section aria-labelledby="h-facts"><h2 id="h-facts">Facts the gateway derived</h2>${factsView(r.facts)}</section>
</div>
<div>
<section aria-labelledby="h-decide"><h2 id="h-decide">Your decision</h2>${reviewForm(r, who)}</section>
<section aria-labelledby="h-approvals"><h2 id="h-approvals">Approvals</h2>${approvalsView(r)}</section>
<section aria-labelledby="h-rules"><h2 id="h-rules">Matched rules</h2>${rulesView(r, deps.policy())}</section>
<section aria-labelledby="h-digest"><h2 id="h-digest">Digest</h2><p><code class="digest">${r.digest}</code></p><p class="small">An approval is for this digest only: the action, principal and connection exactly as shown.</p></section>
</div>
</div>
${r.result !== null || r.error ? html`<section aria-labelledby="h-result"><h2 id="h-result">Result</h2>${resultView(r)}</section>` : ''}
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>${timeline(events)}</section>`;
  return page({ title: `Request ${r.id}`, viewer: who.viewer, body });
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
      await review(deps, { reviewer: who.principal, requestId: id, verdict, comment, ...(digest ? { digest } : {}) });
      return c.redirect(`/requests/${encodeURIComponent(id)}?done=${verdict}`, 303);
    }),
  );
  return app;
}
