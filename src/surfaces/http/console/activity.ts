/**
 * Activity: every request, newest first, filtered by status, principal
 * (requester or the human an agent acts for), connection, tag and time, each
 * linking to its request page. Filters go to the store's indexes.
 */
import { Hono } from 'hono';
import type { RequestStatus } from '../../../core/request.ts';
import type { Deps } from '../../../service/deps.ts';
import { listRequests } from '../../../service/read.ts';
import type { AppEnv } from '../context.ts';
import { filterForm, filterQuery, readFilters } from './filters.ts';
import { actionSummary, requester, scrollingTable, statusPill, when } from './format.ts';
import { consolePage } from './handlers.ts';
import { html } from './html.ts';
import { page } from './layout.ts';

const PAGE = 50;

export function activityRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/activity',
    consolePage(deps, async (c, who) => {
      const f = readFilters(c.req.query());
      const before = c.req.query('before');
      const rows = await listRequests(deps, who.principal, {
        ...(f.status ? { status: [f.status as RequestStatus] } : {}),
        ...(f.principal ? { involving: f.principal } : {}),
        ...(f.connection ? { connection: f.connection } : {}),
        ...(f.tag ? { tag: f.tag } : {}),
        ...(f.from ? { from: f.from } : {}),
        ...(f.to ? { to: f.to } : {}),
        ...(before ? { before } : {}),
        limit: PAGE,
      });
      const last = rows[rows.length - 1];
      const table = rows.length
        ? scrollingTable('Requests table', html`<table>
<caption>Requests, newest first</caption>
<thead><tr><th scope="col">Asked</th><th scope="col">Status</th><th scope="col">Who</th><th scope="col">Connection</th><th scope="col">Action</th></tr></thead>
<tbody>${rows.map(
            (r) => html`<tr><td>${when(r.createdAt)}</td><td>${statusPill(r.status)}</td><td>${requester(r)}</td><td>${r.connection.name}</td><td><a href="/requests/${r.id}">${actionSummary(r)}</a></td></tr>`,
          )}</tbody></table>`)
        : html`<p class="none">No request matches.</p>`;
      const body = html`<h1>Activity</h1>
${filterForm('/activity', f, { connections: deps.connections.list().map((x) => x.name), principals: c.get('console').principals })}
${table}
${rows.length === PAGE && last ? html`<p class="paging"><a href="/activity${filterQuery(f, { before: last.id })}">Older requests</a></p>` : ''}`;
      return c.html(page({ title: 'Activity', viewer: who.viewer, active: 'activity', body }).value);
    }),
  );
  return app;
}
