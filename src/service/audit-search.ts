/**
 * Audit search: the events that answer "who approved what, where, when",
 * e.g. every `request.approved` on billing-db last quarter, with the approvers.
 */
import { z } from 'zod';
import { CountersignError } from '../core/errors.ts';
import type { AuditEvent } from '../core/audit.ts';
import type { AuditQuery, Store } from '../core/ports.ts';

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO time such as 2026-07-01T00:00:00Z').transform((s) => new Date(s).toISOString());
const name = z.string().min(1).max(200);

/** The filters as they arrive from a query string or CLI flags (all strings). */
export const auditQuerySchema = z.strictObject({
  from: iso.optional(),
  to: iso.optional(),
  type: z.string().optional().transform((s) => (s ? s.split(',').filter(Boolean) : undefined)),
  principal: name.optional(),
  actsFor: name.optional(),
  reviewer: name.optional(),
  connection: name.optional(),
  tag: z.string().regex(/^[^=]+(=.*)?$/, 'key or key=value').optional(),
  effect: z.enum(['allow', 'deny', 'approve']).optional(),
  rule: name.optional(),
  status: name.optional(),
  request: name.optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function parseAuditQuery(raw: Record<string, string | undefined>): AuditQuery {
  const r = auditQuerySchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!r.success) throw new CountersignError('INVALID_REQUEST', r.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  const q = r.data;
  return {
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
    ...(q.type ? { types: q.type } : {}),
    ...(q.principal ? { principal: q.principal } : {}),
    ...(q.actsFor ? { actsFor: q.actsFor } : {}),
    ...(q.reviewer ? { reviewer: q.reviewer } : {}),
    ...(q.connection ? { connection: q.connection } : {}),
    ...(q.tag ? { tag: q.tag } : {}),
    ...(q.effect ? { effect: q.effect } : {}),
    ...(q.rule ? { rule: q.rule } : {}),
    ...(q.status ? { status: q.status } : {}),
    ...(q.request ? { requestId: q.request } : {}),
    ...(q.after !== undefined ? { afterSeq: q.after } : {}),
    limit: q.limit ?? 100,
  };
}

/** One page of matching events; `next` is the `after` value for the next page, or null. */
export async function searchAudit(store: Store, query: AuditQuery): Promise<{ events: AuditEvent[]; next: number | null }> {
  const events = await store.searchAudit(query);
  const full = events.length === (query.limit ?? 100);
  return { events, next: full ? events[events.length - 1]!.seq : null };
}
