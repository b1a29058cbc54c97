/**
 * Shadow: where the candidate policy (`policy.candidate`) would have decided
 * otherwise than the live one — the by-rule summary and the recent
 * differences. For audit readers only (the same use case and gate as
 * GET /v1/policy/shadow); anyone else gets the 403 page.
 */
import { Hono } from 'hono';
import { groupLabel, type DecisionChange } from '../../../core/policy/decision-diff.ts';
import type { Deps } from '../../../service/deps.ts';
import { shadowDecisions } from '../../../service/policy-shadow.ts';
import type { AppEnv } from '../context.ts';
import { scrollingTable, when } from './format.ts';
import { consolePage } from './handlers.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

const SINCE = ['24h', '7d', '30d'] as const;

function approvers(c: DecisionChange['live']): string {
  return c.approvers.map((a) => `${a.count} of ${[...a.groups.map((g) => `group ${g}`), ...a.principals].join(' or ') || 'any human'}`).join('; ');
}

function sideView(s: DecisionChange['live']): Html {
  return html`<strong class="effect">${s.effect}</strong>${s.rules.length ? html` (${s.rules.join(', ')})` : ''}${s.effect === 'approve' ? html`<br><span class="small">${approvers(s)}</span>` : ''}${
    s.errors?.length ? html`<br><span class="bad">failed: ${s.errors.map((e) => `${e.rule}: ${e.message}`).join('; ')}</span>` : ''
  }`;
}

export function shadowPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/shadow',
    consolePage(deps, async (c, who) => {
      const asked = c.req.query('since');
      const since = SINCE.find((s) => s === asked) ?? '7d';
      const s = await shadowDecisions(deps, who.principal, { since });
      const body = html`<h1>Shadow policy</h1>
<p>${s.candidate ? html`Candidate <code class="digest">${s.candidate}</code> is evaluated beside the live policy on every action and never enforced.` : html`<span class="none">No candidate is configured now (<code>policy.candidate</code>); earlier differences stay in the log.</span>`}</p>
<p>Since: ${SINCE.map((x, i) => html`${i ? ' · ' : ''}${x === since ? html`<strong>${x}</strong>` : html`<a href="/shadow?since=${x}">${x}</a>`}`)}</p>
<section aria-labelledby="h-summary"><h2 id="h-summary">By rule</h2>
${s.groups.length
  ? scrollingTable('Differences by rule table', html`<table id="shadow-groups"><thead><tr><th scope="col">Rule</th><th scope="col">Change</th><th scope="col">Actions</th><th scope="col">Examples</th></tr></thead>
<tbody>${s.groups.map((g) => html`<tr><td>${groupLabel(g, g.examples[0])}</td><td>${g.transition}</td><td>${g.count}</td><td>${g.examples.map((e, i) => html`${i ? ', ' : ''}<a href="/requests/${e.requestId}">${e.requestId}</a>`)}</td></tr>`)}</tbody></table>`)
  : html`<p class="none" id="shadow-none">The candidate agreed with the live policy on every action since ${when(s.since)}.</p>`}
</section>
<section aria-labelledby="h-recent"><h2 id="h-recent">Recent differences</h2>
${s.recent.length
  ? scrollingTable('Recent differences table', html`<table id="shadow-recent"><thead><tr><th scope="col">When</th><th scope="col">Request</th><th scope="col">Principal</th><th scope="col">Connection</th><th scope="col">Live</th><th scope="col">Candidate</th></tr></thead>
<tbody>${s.recent.map((e) => html`<tr><td>${when(e.time)}</td><td><a href="/requests/${e.requestId}">${e.requestId}</a></td><td>${e.principal}</td><td>${e.connection}</td><td>${sideView(e.live)}</td><td>${sideView(e.candidate)}</td></tr>`)}</tbody></table>`)
  : html`<p class="none">None.</p>`}
</section>`;
      return c.html(page({ title: 'Shadow policy', viewer: who.viewer, active: 'shadow', body }).value);
    }),
  );
  return app;
}
