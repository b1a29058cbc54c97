/**
 * Request history: the audit events of one request, oldest first — submitted,
 * held, each review, approved or denied, executed, result — from the log
 * itself, so what a reviewer reads is what an auditor will find.
 */
import type { AuditEvent } from '../core/audit.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';

/**
 * @example
 * (await requestHistory(deps, alice, 'req_…')).map((e) => e.type); // ['request.submitted', 'request.held', …]
 */
export async function requestHistory(deps: Deps, viewer: Principal, id: string): Promise<AuditEvent[]> {
  await getRequest(deps, viewer, id);
  return deps.store.searchAudit({ requestId: id, limit: 1000 });
}
