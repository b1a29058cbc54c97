/**
 * Request history: the audit events of one request, oldest first — submitted,
 * held, each review, approved or denied, executed, result — from the log
 * itself, so what a reviewer reads is what an auditor will find. The policy's
 * own events about a request (`policy.*`: what a candidate policy would have
 * decided) are governance views, for the roles that read the audit trail only.
 */
import type { AuditEvent } from '../core/audit.ts';
import type { Principal } from '../core/principal.ts';
import { AUDIT_READERS, hasAnyRole } from '../core/roles.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';

/**
 * @example
 * (await requestHistory(deps, alice, 'req_…')).map((e) => e.type); // ['request.submitted', 'request.held', …]
 */
export async function requestHistory(deps: Deps, viewer: Principal, id: string): Promise<AuditEvent[]> {
  await getRequest(deps, viewer, id);
  const events = await deps.store.searchAudit({ requestId: id, limit: 1000 });
  return hasAnyRole(deps.identity.roles(viewer), AUDIT_READERS) ? events : events.filter((e) => !e.type.startsWith('policy.'));
}
