/**
 * Reading requests. Humans (reviewers, auditors) see every request; an agent
 * sees only its own, and another's id is simply not found for it.
 */
import { CountersignError } from '../core/errors.ts';
import type { RequestQuery } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord, RequestStatus } from '../core/request.ts';
import { assertMayReview } from '../core/review.ts';
import type { Deps } from './deps.ts';
import { expireIfDue } from './expire.ts';

export function maySee(viewer: Principal, r: RequestRecord): boolean {
  return viewer.kind === 'human' || r.principal.id === viewer.id;
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
  if (!r || !maySee(viewer, r)) throw new CountersignError('NOT_FOUND', 'no such request');
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

export async function listRequests(deps: Deps, viewer: Principal, opts: ListOptions): Promise<RequestRecord[]> {
  const { reviewable: _reviewable, involving, ...filters } = opts;
  const rows = await deps.store.listRequests({
    ...filters,
    ...(viewer.kind === 'agent' ? { involving: viewer.id } : involving ? { involving } : {}),
    limit: opts.limit ?? 100,
  });
  const fresh = await Promise.all(rows.filter((r) => maySee(viewer, r)).map((r) => expireIfDue(deps, r)));
  const stillMatching = opts.status ? fresh.filter((r) => opts.status?.includes(r.status)) : fresh;
  return opts.reviewable ? stillMatching.filter((r) => reviewability(viewer, r).reviewable) : stillMatching;
}
