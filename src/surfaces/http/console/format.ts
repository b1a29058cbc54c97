/**
 * Small pieces the pages share: a one-line summary of an action, tags,
 * status, who asked and for whom, and time left — all through the escaping
 * template.
 */
import type { ConnectionInfo } from '../../../core/connection.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { actionLine } from '../../../core/review-brief.ts';
import { html, type Html } from './html.ts';

const ONE_LINE = 140;

/** An MCP tool call as a later surface records it: operation `tools/call`, input `{ name, arguments }`. */
export function mcpCall(r: Pick<RequestRecord, 'action'>): { tool: string; args: unknown } | undefined {
  const input = r.action.input;
  if (r.action.operation !== 'tools/call' || !('tool' in input)) return undefined;
  return { tool: input.tool, args: input.arguments };
}

/**
 * The action line every channel leads with (core/review-brief.ts): a line comment's end marked, the statement
 * kinds first when the SQL is cut, hidden characters shown.
 *
 * @example
 * actionSummary(r); // 'POST /refunds on billing-api' | 'SQL on orders-db: UPDATE orders SET …'
 */
export function actionSummary(r: Pick<RequestRecord, 'action' | 'facts' | 'connection'>): string {
  return actionLine(r, ONE_LINE);
}

export function tags(connection: ConnectionInfo): Html {
  const entries = Object.entries(connection.tags);
  if (entries.length === 0) return html``;
  return html`<ul class="tags" aria-label="tags of ${connection.name}">${entries.map(
    ([k, v]) => html`<li class="tag">${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}</li>`,
  )}</ul>`;
}

export function statusPill(status: string): Html {
  return html`<span class="status status-${status}">${status}</span>`;
}

export function requester(r: Pick<RequestRecord, 'principal'>): Html {
  return html`<span class="principal">${r.principal.id}</span> <span class="kind">(${r.principal.kind})</span>${
    r.principal.actsFor ? html` for <span class="principal">${r.principal.actsFor}</span>` : ''
  }`;
}

/** `1h 5m left`, `42s left`, `expired`. */
export function timeLeft(expiresAt: string | null, now: Date): string {
  if (!expiresAt) return 'no expiry';
  const s = Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000);
  if (s <= 0) return 'expired';
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h left`;
  if (h > 0) return `${h}h ${m}m left`;
  if (m > 0) return `${m}m ${s % 60}s left`;
  return `${s}s left`;
}

/** A countdown the script keeps ticking; the server's text is right at render time without it. */
export function countdown(expiresAt: string | null, now: Date): Html {
  return expiresAt ? html`<time class="left" datetime="${expiresAt}" data-expires="${expiresAt}">${timeLeft(expiresAt, now)}</time>` : html`<span class="left">no expiry</span>`;
}

/** An ISO time, shown to the minute in UTC, with the exact value for machines and hover. */
export function when(iso: string): Html {
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/**
 * An identifier (rule id, event type) that never breaks mid-word: a narrow column may wrap it only after a dot,
 * underscore, slash, colon or hyphen (console.css, `code.ident`).
 * @example
 * ident('request.submitted').value; // '<code class="ident">request.<wbr>submitted</code>'
 */
export function ident(text: string): Html {
  const parts = text.split(/(?<=[._/:-])(?=.)/);
  return html`<code class="ident">${parts.map((p, i) => html`${i ? html`<wbr>` : ''}${p}`)}</code>`;
}

/**
 * A table that may be wider than the screen, in a region that scrolls sideways and that a keyboard can reach
 * (a tab stop, named by `label`) to scroll it with the arrow keys (WCAG 2.1.1).
 */
export function scrollingTable(label: string, table: Html): Html {
  return html`<div class="table-wrap" role="region" aria-label="${label}" tabindex="0">${table}</div>`;
}
