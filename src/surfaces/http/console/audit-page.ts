/**
 * Audit (auditors and admins only): the event log with the Activity filters (plus event type and
 * request), the checkpoint status — the latest signed root, its signature,
 * whether the stored log still has it, whether the chain verifies — and an
 * export of what the filters select, as the exact stored lines (JSONL); for
 * auditors, the bundle and evidence report of a period (audit-downloads.ts).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { AuditEvent } from '../../../core/audit.ts';
import type { AuditQuery } from '../../../core/ports.ts';
import { parseAuditQuery, searchAudit } from '../../../service/audit-search.ts';
import { auditStatus, type AuditStatus } from '../../../service/audit-status.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { filterForm, filterQuery, readFilters, type Filters } from './filters.ts';
import { ident, scrollingTable, when } from './format.ts';
import { consolePage, securityHeaders } from './handlers.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import { readConsoleSession } from './session.ts';
import { CountersignError } from '../../../core/errors.ts';
import { AUDIT_READERS, requireRole } from '../../../core/roles.ts';
import { downloadForms } from './audit-downloads.ts';

const PAGE = 100;

/** The page's own filters and the audit search's, from one query string. */
function query(q: Record<string, string>): { f: Filters; extra: { type?: string; request?: string }; search: AuditQuery } {
  const f = readFilters(q);
  const extra = { ...(q['type']?.trim() ? { type: q['type'].trim() } : {}), ...(q['request']?.trim() ? { request: q['request'].trim() } : {}) };
  const search = parseAuditQuery({ ...f, ...extra, ...(q['after'] ? { after: q['after'] } : {}), limit: String(PAGE) });
  return { f, extra, search };
}

const filtered = (s: AuditQuery) => Object.keys(s).some((k) => k !== 'limit' && k !== 'afterSeq');

function statusView(s: AuditStatus, verifyLink: string): Html {
  const cp = s.checkpoint;
  const cpView = cp
    ? html`<dl class="pairs">
<dt>Latest signed checkpoint</dt><dd>${cp.size} events, ${when(cp.createdAt)}, key <code>${cp.keyId}</code></dd>
<dt>Signed root</dt><dd><code class="digest">${cp.root}</code></dd>
<dt>Signature</dt><dd>${cp.signatureOk ? html`<span class="ok">verifies</span> with this gateway’s key` : html`<span class="bad">does not verify</span>`}</dd>
<dt>Stored log at that size</dt><dd>${cp.rootMatches ? html`<span class="ok">has the signed root</span>` : html`<span class="bad">differs from the signed root</span>`}</dd>
${cp.problem ? html`<dt>Problem</dt><dd class="bad">${cp.problem}</dd>` : ''}
</dl>`
    : html`<p class="none">No checkpoint signed yet.</p>`;
  const chain = s.chain
    ? s.chain.ok
      ? html`<p id="chain-status"><span class="ok">The hash chain verifies</span>: ${s.chain.count} events, head <code>${s.chain.head.slice(0, 16)}…</code></p>`
      : html`<p id="chain-status" role="alert"><span class="bad">The hash chain is broken</span> at event ${s.chain.problem.seq}: ${s.chain.problem.reason}</p>`
    : html`<p id="chain-status">The log has ${s.size} events. <a href="${verifyLink}">Verify the whole chain now</a>.</p>`;
  return html`${cpView}${chain}`;
}

function row(e: AuditEvent): Html {
  const data = JSON.stringify(e.data);
  return html`<tr><td>${e.seq}</td><td>${when(e.time)}</td><td>${ident(e.type)}</td><td>${e.actor ?? html`<span class="none">gateway</span>`}</td><td>${
    e.requestId ? html`<a href="/requests/${e.requestId}">${e.requestId}</a>` : ''
  }</td><td class="data"><code>${data.length > 240 ? `${data.slice(0, 239)}…` : data}</code></td></tr>`;
}

async function exportEvents(c: Context<AppEnv>, deps: Deps): Promise<Response> {
  securityHeaders(c);
  const signedIn = await readConsoleSession(c, deps);
  if (!signedIn) throw new CountersignError('UNAUTHENTICATED', 'sign in to the console first');
  requireRole(deps.identity.roles(signedIn.principal), AUDIT_READERS, 'the audit trail');
  const { search } = query(c.req.query());
  const stamp = deps.clock.now().toISOString().replace(/[:.]/g, '-');
  c.header('content-type', 'application/x-ndjson; charset=utf-8');
  c.header('content-disposition', `attachment; filename="countersign-audit-${stamp}.jsonl"`);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for (let after = search.afterSeq ?? 0; ; ) {
          const { events, next } = await searchAudit(deps.store, { ...search, afterSeq: after, limit: 5000 });
          if (events.length) controller.enqueue(encoder.encode(events.map((e) => `${e.body}\n`).join('')));
          if (next === null) break;
          after = next;
        }
        controller.close();
      } catch (e) {
        controller.error(e);
      }
    },
  });
  return c.body(body);
}

export function auditPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/audit',
    consolePage(deps, async (c, who) => {
      // The navigation hides the page from anyone without the role; this refuses them whatever link they follow.
      requireRole(who.viewer.roles, AUDIT_READERS, 'the audit trail');
      const q = c.req.query();
      const { f, extra, search } = query(q);
      const status = await auditStatus(deps, { verifyChain: q['verify'] === 'chain' });
      // Unfiltered, the page opens on the latest events; filtered, on the first match.
      const start = search.afterSeq ?? (filtered(search) ? 0 : Math.max(0, status.size - PAGE));
      const { events, next } = await searchAudit(deps.store, { ...search, afterSeq: start });
      const typeField = html`<div><label for="f-type">Event type</label><input id="f-type" name="type" value="${extra.type ?? ''}" placeholder="review.recorded"></div>
  <div><label for="f-request">Request</label><input id="f-request" name="request" value="${extra.request ?? ''}" placeholder="req_…"></div>`;
      const body = html`<h1>Audit</h1>
<section aria-labelledby="h-status" class="status-box"><h2 id="h-status">Checkpoint status</h2>${statusView(status, `/audit${filterQuery(f, { ...extra, verify: 'chain' })}`)}</section>
<section aria-labelledby="h-events"><h2 id="h-events">Events</h2>
${filterForm('/audit', f, { connections: deps.connections.list().map((x) => x.name), principals: c.get('console').principals, extra: typeField })}
<p><a class="button" href="/audit/export${filterQuery(f, extra)}" download>Export these events (JSONL)</a> <span class="small">Exact stored lines; for a bundle that verifies offline use <code>countersign audit export --out</code>.</span></p>
${events.length ? scrollingTable('Audit events table', html`<table><caption>Events ${events[0]!.seq}–${events[events.length - 1]!.seq} of ${status.size}, in log order</caption>
<thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Actor</th><th scope="col">Request</th><th scope="col">Data</th></tr></thead>
<tbody>${events.map(row)}</tbody></table>`) : html`<p class="none">No event matches.</p>`}
<p class="paging">${start > 0 && !filtered(search) ? html`<a href="/audit${filterQuery(f, { ...extra, after: Math.max(0, start - PAGE) })}">Earlier</a> ` : ''}${next !== null ? html`<a href="/audit${filterQuery(f, { ...extra, after: next })}">Later</a>` : ''}</p>
</section>
${downloadForms()}`;
      return c.html(page({ title: 'Audit', viewer: who.viewer, active: 'audit', body }).value);
    }),
  );
  app.get('/audit/export', (c) => exportEvents(c, deps));
  return app;
}
