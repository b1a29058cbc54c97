/**
 * Scoped grants, read and revoked (core/grant.ts says what one is). An agent sees only the grants made for itself and
 * never revokes one; a human with the auditor or admin role sees them all; any other human sees the grants they gave
 * and those of requests they may see. A grant one may not see is not found, exactly as an unknown id.
 */
import { CountersignError } from '../core/errors.ts';
import { assertMayRevokeGrant, type Grant } from '../core/grant.ts';
import { sameIdentity } from '../core/human-identity.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { traitsOf } from '../core/review.ts';
import { AUDIT_READERS, hasAnyRole } from '../core/roles.ts';
import type { Deps } from './deps.ts';
import { maySee } from './read.ts';
import { withIdentity } from './views.ts';

/** What `grant.created` records. */
export function grantCreatedData(g: Grant): Record<string, unknown> {
  return { grantId: g.id, requestId: g.requestId, by: g.by.map((b) => b.id), uses: g.uses, expiresAt: g.expiresAt, vary: g.vary, shape: g.shape };
}

/** Whether `viewer` may see `g`; `request` is the request that created it (undefined: gone). */
function maySeeGrant(deps: Deps, viewer: Principal, g: Grant, request: RequestRecord | undefined): boolean {
  // An agent sees the grants of its own requests (core/visibility.ts: the same id of another issuer is not it).
  if (viewer.kind !== 'human') return request !== undefined ? maySee(deps, viewer, request) : g.principal.id === viewer.id && g.principal.kind === viewer.kind && deps.identity.principal(viewer.id) !== undefined;
  if (hasAnyRole(deps.identity.roles(viewer), AUDIT_READERS)) return true;
  const who = traitsOf(viewer);
  return g.by.some((b) => sameIdentity(b, who)) || (request !== undefined && maySee(deps, viewer, request));
}

/**
 * The grants `viewer` may see, newest first; of one request with `requestId`.
 *
 * @example
 * await listGrants(deps, carol, {}); // the grants carol gave, and those of requests she may see
 */
export async function listGrants(deps: Deps, viewer: Principal, query: { requestId?: string; limit?: number } = {}): Promise<Grant[]> {
  return (await listGrantsWithRequests(deps, viewer, query)).map((e) => e.grant);
}

/**
 * As listGrants, each with the request that created it (undefined: gone), read once per request: for a page that
 * shows both, and judges revocation by the request.
 *
 * @example
 * for (const { grant, request } of await listGrantsWithRequests(deps, carol)) …
 */
export async function listGrantsWithRequests(
  deps: Deps,
  viewer: Principal,
  query: { requestId?: string; limit?: number } = {},
): Promise<{ grant: Grant; request: RequestRecord | undefined }[]> {
  const all = await deps.store.listGrants({ ...(query.requestId ? { requestId: query.requestId } : {}), limit: query.limit ?? 200 });
  const requests = new Map<string, RequestRecord | undefined>();
  const out: { grant: Grant; request: RequestRecord | undefined }[] = [];
  for (const g of all) {
    if (!requests.has(g.requestId)) requests.set(g.requestId, await deps.store.getRequest(g.requestId));
    const request = requests.get(g.requestId);
    if (maySeeGrant(deps, viewer, g, request)) out.push({ grant: g, request });
  }
  return out;
}

/**
 * Revokes a grant: no use of it is given from then on. The granting reviewers, a human eligible to approve its
 * request, or an admin may; anyone else gets GRANT_NOT_ALLOWED (an agent always). Revoking a revoked grant returns it.
 *
 * @example
 * await revokeGrant(deps, carol, 'grt_…');
 */
export async function revokeGrant(deps: Deps, who: Principal, id: string, via?: string): Promise<Grant> {
  const grant = await deps.store.getGrant(id);
  const request = grant ? await deps.store.getRequest(grant.requestId) : undefined;
  if (!grant || !maySeeGrant(deps, who, grant, request)) throw new CountersignError('NOT_FOUND', `no grant ${id}`);
  assertMayRevokeGrant(grant, request, who, deps.identity.roles(who), deps.identity);
  const at = deps.clock.now().toISOString();
  const audit = [{ type: 'grant.revoked', time: at, requestId: grant.requestId, actor: who.id, data: { grantId: grant.id, by: who.id, ...withIdentity(who), used: grant.used, uses: grant.uses, ...(via ? { via } : {}) } }];
  const done = await deps.store.revokeGrant(id, { by: who.id, at }, audit);
  if (!done) throw new CountersignError('NOT_FOUND', `no grant ${id}`);
  return done.grant;
}
