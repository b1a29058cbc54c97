/**
 * Coverage: who can do what, on which connection, with no human in the loop —
 * the coverage map of the policy in force (core/policy/coverage.ts), one
 * table per connection. A write on a production connection that some action
 * can run with no review is called out in words, in the cell and in a list
 * at the top, not by colour alone. Auditors and admins only.
 */
import { Hono } from 'hono';
import type { CoverageCell, CoverageMap } from '../../../core/policy/coverage.ts';
import { cellSentences } from '../../../core/policy/coverage-text.ts';
import type { Principal } from '../../../core/principal.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { scrollingTable } from './format.ts';
import { consolePage } from './handlers.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

const WORD = { allow: 'allow', approve: 'approval', deny: 'deny' } as const;

function cellView(cell: CoverageCell | undefined): Html {
  if (!cell) return html`<td></td>`;
  const words = cell.possible.map((e) => WORD[e]).join(' or ');
  return html`<td class="coverage-cell effect-${cell.certain ?? 'depends'}${cell.unreviewedProd ? ' unreviewed' : ''}" data-row="${cell.row}" data-class="${cell.class}">
${cell.unreviewedProd ? html`<strong class="flag">⚠ Unreviewed on prod</strong><br>` : ''}<span class="effects">${cell.certain ? words : html`depends: ${words}`}</span>
<details><summary>How</summary><ul>${cellSentences(cell).map((s) => html`<li>${s}</li>`)}</ul></details></td>`;
}

function connectionTable(map: CoverageMap, conn: CoverageMap['connections'][number]): Html {
  const tags = Object.entries(conn.tags).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('; ');
  const id = `c-${conn.name}`;
  return html`<section aria-labelledby="${id}"><h2 id="${id}">${conn.name} <span class="small">(${conn.kind})</span>${conn.prod ? html` <span class="prod-badge">Production</span>` : ''}</h2>
${tags ? html`<p class="small">Tags: ${tags}</p>` : ''}
${scrollingTable(`Coverage table of ${conn.name}`, html`<table class="coverage" data-connection="${conn.name}"><caption>${conn.name}: what each row may do, per kind of operation</caption>
<thead><tr><th scope="col">Who</th>${conn.classes.map((c) => html`<th scope="col" title="${c.label}">${c.id}${c.writes ? '' : html` <span class="small">(reads)</span>`}</th>`)}</tr></thead>
<tbody>${map.rows.map(
    (r) => html`<tr><th scope="row">${r.label}</th>${conn.classes.map((c) => cellView(map.cells.find((x) => x.row === r.key && x.connection === conn.name && x.class === c.id)))}</tr>`,
  )}</tbody></table>`)}</section>`;
}

function summary(map: CoverageMap): Html {
  const flagged = map.cells.filter((c) => c.unreviewedProd);
  if (!flagged.length) return html`<div class="notice ok" id="unreviewed" role="status"><p>No write on a production connection can run without review.</p></div>`;
  const label = (key: string) => map.rows.find((r) => r.key === key)?.label ?? key;
  return html`<div class="notice error" id="unreviewed" role="status"><p><strong>${flagged.length} unreviewed on prod</strong>: writes on a production connection that can run with no human review.</p>
<ul>${flagged.map((c) => html`<li><strong>${label(c.row)}</strong> · ${c.connection} · ${c.class}: ${c.reason ?? ''}</li>`)}</ul></div>`;
}

export function coveragePageRoutes(deps: Deps, coverage: (caller: Principal) => CoverageMap): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/coverage',
    consolePage(deps, (c, who) => {
      const map = coverage(who.principal);
      const body = html`<h1>Coverage</h1>
<p>Who can do what, on which connection, with no human in the loop. Policy <code class="digest">${map.policyHash}</code>; no match → <strong>${map.default}</strong>.
A cell that depends on the action (its tables, path, arguments, a token's claims) lists each possibility under <em>How</em>; an action on which a rule fails to evaluate is always denied.</p>
${summary(map)}
${map.connections.map((conn) => connectionTable(map, conn))}`;
      return c.html(page({ title: 'Coverage', viewer: who.viewer, active: 'coverage', body }).value);
    }),
  );
  return app;
}
