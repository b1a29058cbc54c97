/**
 * The filter form Activity and Audit share: status, principal, connection,
 * tag and time (UTC), read from the query string and written back into the
 * form and the paging links.
 */
import { CountersignError } from '../../../core/errors.ts';
import { REQUEST_STATUSES } from '../../../core/request.ts';
import { html, type Html } from './html.ts';

export interface Filters {
  readonly status?: string;
  readonly principal?: string;
  readonly connection?: string;
  readonly tag?: string;
  /** ISO times. */
  readonly from?: string;
  readonly to?: string;
}

const FIELDS = ['status', 'principal', 'connection', 'tag', 'from', 'to'] as const;

/** `2026-07-01`, `2026-07-01T10:00` (UTC, as a datetime-local field sends it) or a full ISO time. */
function time(name: string, v: string): string {
  const withZone = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(v) ? `${v.length === 10 ? `${v}T00:00` : v}Z` : v;
  const t = Date.parse(withZone);
  if (Number.isNaN(t)) throw new CountersignError('INVALID_REQUEST', `${name}: a time such as 2026-07-01T10:00 (UTC)`);
  return new Date(t).toISOString();
}

export function readFilters(q: Record<string, string>): Filters {
  const out: Record<string, string> = {};
  for (const f of FIELDS) {
    const v = q[f]?.trim();
    if (!v) continue;
    if (v.length > 200) throw new CountersignError('INVALID_REQUEST', `${f}: at most 200 characters`);
    out[f] = f === 'from' || f === 'to' ? time(f, v) : v;
  }
  if (out['status'] && !(REQUEST_STATUSES as readonly string[]).includes(out['status'])) throw new CountersignError('INVALID_REQUEST', 'status: a request status');
  return out;
}

/** The filters (and extra parameters) as a query string for links. */
export function filterQuery(f: Filters, extra: Record<string, string | number | undefined> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const local = (iso: string | undefined) => (iso ? iso.slice(0, 16) : '');

export function filterForm(action: string, f: Filters, opts: { connections: readonly string[]; principals: readonly string[]; extra?: Html }): Html {
  return html`<form method="get" action="${action}" class="filters" role="search" aria-label="Filters">
  <div><label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${REQUEST_STATUSES.map(
    (s) => html`<option${s === f.status ? html` selected` : ''}>${s}</option>`,
  )}</select></div>
  <div><label for="f-principal">Principal</label><input id="f-principal" name="principal" list="principals" value="${f.principal ?? ''}" placeholder="requester or acting-for"></div>
  <div><label for="f-connection">Connection</label><select id="f-connection" name="connection"><option value="">any</option>${opts.connections.map(
    (n) => html`<option${n === f.connection ? html` selected` : ''}>${n}</option>`,
  )}</select></div>
  <div><label for="f-tag">Tag</label><input id="f-tag" name="tag" value="${f.tag ?? ''}" placeholder="env=prod"></div>
  <div><label for="f-from">From (UTC)</label><input id="f-from" name="from" type="datetime-local" value="${local(f.from)}"></div>
  <div><label for="f-to">To (UTC)</label><input id="f-to" name="to" type="datetime-local" value="${local(f.to)}"></div>
  ${opts.extra ?? ''}
  <div class="buttons"><button type="submit">Filter</button> <a href="${action}">Clear</a></div>
  <datalist id="principals">${opts.principals.map((p) => html`<option value="${p}">`)}</datalist>
</form>`;
}
