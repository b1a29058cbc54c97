/**
 * Reading requests. An agent sees only its own; a human with the auditor or
 * admin role sees every request; any other human sees the requests that
 * concern them (core/visibility.ts). A request one may not see is simply not
 * found, exactly as an unknown id, so its existence is never told.
 */
import { CountersignError } from '../core/errors.ts';
import type { RequestQuery } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord, RequestStatus } from '../core/request.ts';
import { assertMayReview } from '../core/review.ts';
import { maySeeRequest } from '../core/visibility.ts';
import type { Deps } from './deps.ts';
import { expireIfDue } from './expire.ts';

/** Whether `viewer` may see `r`, with their roles and eligibility as the configuration in force has them. */
export function maySee(deps: Pick<Deps, 'identity'>, viewer: Principal, r: RequestRecord): boolean {
  return maySeeRequest(viewer, deps.identity.roles(viewer), r, deps.identity);
}

/**
 * The refusal for a request one may not see: the same as for an id that names nothing. Reads say `no such request`;
 * a change (review, cancel) says what the store says of an unknown id, which names the id the caller sent.
 */
export function notFound(changing?: string): CountersignError {
  return new CountersignError('NOT_FOUND', changing === undefined ? 'no such request' : `no request ${changing}`);
}

/** Whether `viewer` could review `r` now, and if not, the code that says why. */
export function reviewability(viewer: Principal, r: RequestRecord): { reviewable: boolean; why: string | null } {
  if (r.status !== 'pending') return { reviewable: false, why: 'REQUEST_NOT_PENDING' };
  try {
    assertMayReview(r, viewer);
    return { reviewable: true, why: null };
  } catch (e) {
    return { reviewable: false, why: e instanceof CountersignError ? e.code : 'INTERNAL' };
  }
}

/**
 * @example
 * const r = await getRequest(deps, alice, 'req_…');
 */
export async function getRequest(deps: Deps, viewer: Principal, id: string): Promise<RequestRecord> {
  const r = await deps.store.getRequest(id);
  if (!r || !maySee(deps, viewer, r)) throw notFound();
  return expireIfDue(deps, r);
}

export interface ListOptions extends Pick<RequestQuery, 'connection' | 'tag' | 'from' | 'to' | 'before'> {
  readonly status?: readonly RequestStatus[];
  /** Only requests the viewer may review now (humans). */
  readonly reviewable?: boolean;
  /** Only requests this principal made or that act for them (humans; an agent always sees only its own). */
  readonly involving?: string;
  readonly limit?: number;
}

/** Rows read from the store per turn while a page fills. */
const CHUNK = 500;

/**
 * A page of the requests `viewer` may see, newest first: `limit` of them
 * whenever that many exist. The store filters what it can (status,
 * connection, tag, time, an agent's own); who may see a request is judged
 * here, so the store is read on, past rows the viewer may not see, until the
 * page is full or the store has no more.
 */
export async function listRequests(deps: Deps, viewer: Principal, opts: ListOptions): Promise<RequestRecord[]> {
  const { reviewable: _reviewable, involving, limit: wanted, ...filters } = opts;
  const limit = Math.max(1, Math.min(wanted ?? 100, 1000));
  const query: RequestQuery = { ...filters, ...(viewer.kind === 'agent' ? { involving: viewer.id } : involving ? { involving } : {}) };
  // The viewer's roles are the same for every row: look them up once, not once per row read.
  const roles = deps.identity.roles(viewer);
  const visible = (r: RequestRecord) => maySeeRequest(viewer, roles, r, deps.identity);
  // Paging on from a request one may not see would tell that it exists (and when): such a cursor names nothing.
  if (query.before !== undefined) {
    const cursor = await deps.store.getRequest(query.before);
    if (!cursor || !visible(cursor)) return [];
  }
  const chunk = Math.max(limit, CHUNK);
  const out: RequestRecord[] = [];
  for (let before = query.before; out.length < limit; ) {
    const rows = await deps.store.listRequests({ ...query, ...(before ? { before } : {}), limit: chunk });
    for (const row of rows) {
      if (!visible(row)) continue;
      const r = await expireIfDue(deps, row);
      if (opts.status && !opts.status.includes(r.status)) continue;
      if (opts.reviewable && !reviewability(viewer, r).reviewable) continue;
      out.push(r);
      if (out.length === limit) break;
    }
    if (rows.length < chunk) break;
    before = rows[rows.length - 1]!.id;
  }
  return out;
}
