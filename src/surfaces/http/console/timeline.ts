/**
 * A request's timeline, read from its audit events: submitted, held (and
 * where reviewers see it), each review, approved or denied, executed, the
 * result. Unknown event types (channels added later) show with their type,
 * so nothing the log holds is hidden from the page.
 */
import type { AuditEvent } from '../../../core/audit.ts';
import { html, type Html } from './html.ts';
import { ident, when } from './format.ts';

type Data = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

function approversText(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v
    .map((a: Data) => {
      const who = [...((a['groups'] as string[] | undefined) ?? []).map((g) => `group ${g}`), ...((a['principals'] as string[] | undefined) ?? [])];
      return `${str(a['count'])} of ${who.join(' or ') || 'any human'}`;
    })
    .join(' and ');
}

/** One line for one event: what happened, in words. */
function describe(e: AuditEvent): Html {
  const d = e.data as Data;
  switch (e.type) {
    case 'request.submitted': {
      const ctx = (d['context'] as Data | undefined) ?? {};
      // Allowed outright, the run starts with this event (no request.executing follows).
      const allowed = (d['decision'] as Data | undefined)?.['effect'] === 'allow';
      return html`Submitted by <strong>${e.actor}</strong>${ctx['surface'] ? ` via ${str(ctx['surface'])}` : ''}${allowed ? '; allowed by policy, execution started' : ''}.`;
    }
    case 'request.held':
      return html`Held for approval: needs ${approversText(d['approvers'])}; expires ${str(d['expiresAt']).slice(0, 16).replace('T', ' ')} UTC. Notified: the web console inbox of every eligible reviewer (live), and the REST API and CLI review lists.`;
    case 'request.previewed':
      // The counts are for reviewers, shown above them; the requesting side sees this timeline too.
      return html`Impact preview: ${str(d['status']) === 'previewed' ? 'run in a transaction that was rolled back' : str(d['status']) === 'skipped' ? 'not run' : 'failed; nothing was changed'}.`;
    case 'request.notified':
      return html`Notified on <strong>${str(d['channel'])}</strong>${d['to'] ? html` (${str(d['to'])})` : ''}.`;
    case 'review.recorded':
      return html`<strong>${e.actor}</strong> ${d['verdict'] === 'approve' ? 'approved' : 'denied'}${d['comment'] ? html`: <q>${str(d['comment'])}</q>` : '.'}`;
    case 'request.approved':
      return html`Approved: quorum met by ${((d['approvers'] as string[] | undefined) ?? []).join(', ')}.`;
    case 'request.denied':
      return html`Denied${d['by'] ? ` by ${str(d['by'])}` : ''}${d['message'] ? html`: ${str(d['message'])}` : '.'}`;
    case 'request.executing':
      return html`Execution started (${str(d['by']) === 'policy' ? 'allowed by policy' : str(d['by']) === 'break-glass' ? 'by break-glass' : 'after approval'}; policy checked again).`;
    case 'request.requeued':
      return html`Back to pending: the policy now needs more approvals.`;
    case 'request.succeeded':
      return html`Executed: succeeded <code>${JSON.stringify(d['summary'] ?? {})}</code>.`;
    case 'request.failed':
      return html`Executed: failed — ${str((d['error'] as Data | undefined)?.['code'] ?? d['code'])} ${str((d['error'] as Data | undefined)?.['message'] ?? '')}`;
    case 'request.escalated':
      return html`Escalated (rung <code>${str(d['rung'])}</code>): still pending, so ${[...((d['groups'] as string[] | undefined) ?? []).map((g) => `group ${g}`), ...((d['principals'] as string[] | undefined) ?? [])].join(', ')} ${'were notified on every channel and may now review it.'}`;
    case 'request.break_glass':
      return html`<strong>Break-glass</strong> by <strong>${e.actor}</strong>: run at once without its approvals — <q>${str(d['justification'])}</q>`;
    case 'review.after_the_fact':
      return html`Reviewed after the fact by <strong>${e.actor}</strong>: ${d['verdict'] === 'approve' ? 'warranted' : 'not warranted'}${d['comment'] ? html` — <q>${str(d['comment'])}</q>` : '.'}`;
    case 'break_glass.refused':
      return html`Break-glass by <strong>${e.actor}</strong> refused (${str(d['code'])}).`;
    case 'request.expired':
      return html`Expired without a decision.`;
    case 'request.cancelled':
      return html`Cancelled by the requester${d['reason'] ? html`: ${str(d['reason'])}` : '.'}`;
    default:
      return html`${ident(e.type)}${e.actor ? html` by ${e.actor}` : ''}`;
  }
}

/** `auditLinks`: whether each event shows its number in the log and links to the Audit page (only for a viewer who may open it). */
export function timeline(events: readonly AuditEvent[], opts: { auditLinks: boolean }): Html {
  if (events.length === 0) return html`<p class="none">No events.</p>`;
  return html`<ol class="timeline">${events.map(
    (e) =>
      html`<li class="event event-${e.type.replace(/[^a-z.]/g, '').replace(/\./g, '-')}"><span class="at">${when(e.time)}</span> <span class="what">${describe(e)}</span> ${
        // The log's numbering counts everyone's events: only for a viewer who may read the log.
        opts.auditLinks ? html`<a class="seq" href="/audit?request=${e.requestId ?? ''}" title="audit event ${e.seq}">#${e.seq}</a>` : ''
      }</li>`,
  )}</ol>`;
}
