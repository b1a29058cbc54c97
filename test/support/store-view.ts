/**
 * Reads what a running gateway recorded through its Store port, so an
 * end-to-end test asserts the rows and audit events that really landed on
 * whichever store it runs (SQLite or PostgreSQL). Tests that must look under
 * the port (a trigger on a table, a tampered row) use sqlite.ts and are SQLite-only.
 */
import type { AuditEvent } from '../../src/core/audit.ts';
import type { Store } from '../../src/core/ports.ts';

/** More than any test writes; the port pages, the tests do not need to. */
const ALL = 100_000;

/** How many requests and audit events the store holds (a review always writes an audit event). */
export async function storeCounts(store: Store): Promise<{ requests: number; audit: number }> {
  return { requests: (await store.listRequests({ limit: ALL })).length, audit: (await store.treeHead()).size };
}

/** The stored status of one request, or undefined when there is none. */
export async function storedStatus(store: Store, id: string): Promise<string | undefined> {
  return (await store.getRequest(id))?.status;
}

/** An audit event whose data a test reads freely. */
export type StoredEvent = AuditEvent & { readonly data: Record<string, any> };

/** The audit events (of one request, or all), in order. */
export async function storedAudit(store: Store, requestId?: string): Promise<StoredEvent[]> {
  const all = (await store.readAudit(1, ALL)) as StoredEvent[];
  return requestId === undefined ? all : all.filter((e) => e.requestId === requestId);
}

/** The reviews recorded for one request, in order. */
export async function storedReviewers(store: Store, id: string): Promise<{ reviewer: string; verdict: string }[]> {
  return ((await store.getRequest(id))?.reviews ?? []).map((r) => ({ reviewer: r.reviewer.id, verdict: r.verdict }));
}
