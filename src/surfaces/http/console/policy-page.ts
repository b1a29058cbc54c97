/**
 * Policy: the rules in force with their ids, conditions, effects and
 * approvers, and a simulator — pick a principal, a connection and an input,
 * see the effect and which rules matched, without creating anything (the
 * same simulate use case as POST /v1/policy/simulate).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { CountersignError, isCountersignError } from '../../../core/errors.ts';
import type { Deps } from '../../../service/deps.ts';
import { simulateSoon, type Simulation } from '../../../service/simulate.ts';
import type { AppEnv } from '../context.ts';
import { HTTP_STATUS } from '../errors.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html, type Html } from './html.ts';
import { ident, scrollingTable } from './format.ts';
import { factsView } from './input-view.ts';
import { csrfField, page } from './layout.ts';

interface SimForm {
  readonly principal: string;
  readonly connection: string;
  readonly input: string;
  readonly reason: string;
}

const EXAMPLES: Readonly<Record<string, string>> = {
  postgres: '{"sql": "update orders set status = $1 where id = $2", "params": ["void", 7]}',
  http: '{"method": "POST", "path": "/refunds", "body": {"invoice": "inv_1"}}',
  exec: '{"args": ["rollout", "restart", "deploy/web"]}',
};

function rulesTable(deps: Deps): Html {
  const policy = deps.policy();
  const ttl = (s: number | undefined) => (s === undefined ? '' : `${s}s`);
  return html`<p>Policy <code class="digest">${policy.hash}</code>; no match → <strong>${policy.spec.default}</strong>; held requests live ${policy.spec.defaultTtlSeconds}s unless a rule says otherwise.</p>
${scrollingTable('Rules table', html`<table><caption>Rules in order; the most restrictive matching effect wins</caption>
<thead><tr><th scope="col">Id</th><th scope="col">When</th><th scope="col">Effect</th><th scope="col">Approvers</th><th scope="col">TTL</th><th scope="col">Message</th></tr></thead>
<tbody>${policy.spec.rules.map(
    (r) => html`<tr><td>${ident(r.id)}</td><td><code class="cel">${r.when}</code></td><td>${r.effect}</td><td>${(r.approvers ?? [])
      .map((a) => `${a.count ?? 1} of ${[...(a.groups ?? []).map((g) => `group ${g}`), ...(a.principals ?? [])].join(' or ') || 'any human'}`)
      .join('; ')}</td><td>${ttl(r.ttlSeconds)}</td><td>${r.message ?? ''}</td></tr>`,
  )}</tbody></table>`)}`;
}

function simulator(deps: Deps, c: Context<AppEnv>, who: Who, f: SimForm): Html {
  const connections = deps.connections.list();
  return html`<form method="post" action="/policy/simulate" class="simulate">
  ${csrfField(who.viewer)}
  <div><label for="s-principal">Principal</label><select id="s-principal" name="principal">${c.get('console').principals.map(
    (p) => html`<option${p === f.principal ? html` selected` : ''}>${p}</option>`,
  )}</select></div>
  <div><label for="s-connection">Connection</label><select id="s-connection" name="connection">${connections.map(
    (x) => html`<option value="${x.name}" data-example="${EXAMPLES[x.kind] ?? '{}'}"${x.name === f.connection ? html` selected` : ''}>${x.name} (${x.kind})</option>`,
  )}</select></div>
  <div class="wide"><label for="s-input">Input (JSON)</label><textarea id="s-input" name="input" rows="5" required spellcheck="false">${f.input}</textarea></div>
  <div class="wide"><label for="s-reason">Reason <span class="small">(optional)</span></label><input id="s-reason" name="reason" value="${f.reason}"></div>
  <div class="buttons"><button type="submit">Simulate</button></div>
</form>`;
}

function outcome(s: Simulation): Html {
  const d = s.decision;
  return html`<div class="notice result effect-${d.effect}" role="status" id="simulation">
<p>As <strong>${s.principal}</strong>: <strong class="effect">${d.effect}</strong>${d.message ? html` — ${d.message}` : ''}</p>
<p>Matched rules: ${d.rules.length ? d.rules.map((r, i) => html`${i ? ', ' : ''}${ident(r)}`) : html`<span class="none">none (the default applies)</span>`}</p>
${d.approvers.length ? html`<p>Approvers: ${d.approvers.map((a, i) => html`${i ? '; ' : ''}${a.count} of ${[...a.groups.map((g) => `group ${g}`), ...a.principals].join(' or ') || 'any human'}`)}</p>` : ''}
${d.errors.length ? html`<p class="bad">Rules that failed: ${d.errors.map((e) => html`${ident(e.rule)} ${e.message} `)}</p>` : ''}
<p class="small">Digest <code class="digest">${s.digest}</code></p>
</div>
<h3>Facts</h3>${factsView(s.facts)}`;
}

function render(deps: Deps, c: Context<AppEnv>, who: Who, f: SimForm, result?: Html, status = 200): Response {
  const body = html`<h1>Policy</h1>
<section aria-labelledby="h-rules"><h2 id="h-rules">Rules in force</h2>${rulesTable(deps)}</section>
<section aria-labelledby="h-sim"><h2 id="h-sim">Simulator</h2><p>What would the policy do? Nothing is submitted or run.</p>${simulator(deps, c, who, f)}${result ?? ''}</section>`;
  return c.html(page({ title: 'Policy', viewer: who.viewer, active: 'policy', body }).value, status as 200);
}

export function policyPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/policy',
    consolePage(deps, (c, who) => {
      const first = deps.connections.list()[0];
      return render(deps, c, who, { principal: who.principal.id, connection: first?.name ?? '', input: first ? (EXAMPLES[first.kind] ?? '{}') : '{}', reason: '' });
    }),
  );
  app.post(
    '/policy/simulate',
    consoleForm(deps, async (c, who, form) => {
      const f: SimForm = { principal: form.get('principal') ?? who.principal.id, connection: form.get('connection') ?? '', input: form.get('input') ?? '', reason: form.get('reason') ?? '' };
      try {
        let input: unknown;
        try {
          input = JSON.parse(f.input);
        } catch {
          throw new CountersignError('INVALID_JSON', 'the input is not valid JSON');
        }
        const s = await simulateSoon(deps, { caller: who.principal, as: f.principal, connection: f.connection, input, ...(f.reason ? { reason: f.reason } : {}) });
        return render(deps, c, who, f, outcome(s));
      } catch (e) {
        if (!isCountersignError(e) || HTTP_STATUS[e.code] >= 500) throw e;
        return render(deps, c, who, f, html`<div class="notice error" role="alert" id="simulation"><p><strong>${e.code}</strong>: ${e.message}</p></div>`, HTTP_STATUS[e.code]);
      }
    }),
  );
  return app;
}
