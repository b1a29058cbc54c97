/**
 * Reading one period of the audit log: where it starts (events are written in
 * time order, so a binary search over seq finds the first event at or after a
 * time), the events up to its end, page by page, the submission of a request
 * that began before the period, and the signed checkpoints that cover it.
 */
import { firstSeqAtOrAfter } from '../audit-time.ts';
import type { AuditEvent } from '../../core/audit.ts';
import type { Store } from '../../core/ports.ts';
import type { CheckpointEntry } from './types.ts';
import { broken } from './verify-period.ts';

const PAGE = 1000;

/** The seq of the first event written at or after `time`; `size + 1` when there is none. */

export interface PeriodRead {
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly events: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  readonly prevHash: string | null;
  readonly lastHash: string | null;
}

/**
 * Calls `visit` on every event from the first at or after `from` up to (not
 * including) the first written at or after `to`, in log order.
 *
 * @example
 * await readPeriod(store, from, to, size, (e) => fold(e));
 */
export async function readPeriod(store: Store, from: Date, to: Date, size: number, visit: (e: AuditEvent) => void): Promise<PeriodRead> {
  const start = await firstSeqAtOrAfter(store, from);
  let first: AuditEvent | undefined;
  let last: AuditEvent | undefined;
  let count = 0;
  read: for (let seq = start; seq <= size; ) {
    const page = await store.readAudit(seq, PAGE);
    if (page.length === 0) break;
    for (const e of page) {
      if (Date.parse(e.time) >= to.getTime()) break read;
      first ??= e;
      last = e;
      count++;
      visit(e);
    }
    seq = page[page.length - 1]!.seq + 1;
  }
  const [before] = first && first.seq > 1 ? await store.readAudit(first.seq - 1, 1) : [];
  return {
    firstSeq: first?.seq ?? null,
    lastSeq: last?.seq ?? null,
    events: count,
    firstTime: first?.time ?? null,
    lastTime: last?.time ?? null,
    prevHash: before?.hash ?? null,
    lastHash: last?.hash ?? null,
  };
}

/**
 * The request.submitted event of a request that began before the period, found through the request index. The index
 * columns are not hashed: a genuine event of another request (it proves in the tree) indexed under this one would
 * show that request's action as this one's, so its hashed body must say it is this request's submission, or the log
 * does not verify (AUDIT_INTEGRITY_FAILED).
 */
export async function findSubmitted(store: Store, requestId: string, before: number): Promise<AuditEvent | undefined> {
  const [e] = await store.searchAudit({ requestId, types: ['request.submitted'], limit: 1 });
  if (e && (e.requestId !== requestId || e.type !== 'request.submitted')) {
    throw broken(`event ${e.seq} is indexed as the submission of request ${requestId}, but its hashed body says it is the ${String(e.type)} of ${String(e.requestId)} (its request_id or type column was edited)`, { seq: e.seq });
  }
  return e && e.seq < before ? e : undefined;
}

/**
 * The grant.created event of grant `grantId`, written on request `requestId` before event `before`, if the log has it.
 * Read as findSubmitted reads a submission: an event whose hashed body is not what its columns say is a broken log.
 */
export async function findGrantCreated(store: Store, requestId: string, grantId: string, before: number): Promise<AuditEvent | undefined> {
  const events = await store.searchAudit({ requestId, types: ['grant.created'], limit: 10 });
  for (const e of events) {
    if (e.requestId !== requestId || e.type !== 'grant.created') {
      throw broken(`event ${e.seq} is indexed as a grant.created of request ${requestId}, but its hashed body says it is the ${String(e.type)} of ${String(e.requestId)} (its request_id or type column was edited)`, { seq: e.seq });
    }
    if (e.data['grantId'] === grantId && e.seq < before) return e;
  }
  return undefined;
}

/**
 * The checkpoints from the first one that includes `firstSeq` up to the first
 * one that includes `lastSeq`; `covered` is false when none includes `lastSeq` yet.
 */
export async function coveringCheckpoints(store: Store, firstSeq: number, lastSeq: number): Promise<{ checkpoints: CheckpointEntry[]; covered: boolean }> {
  const out: CheckpointEntry[] = [];
  for (let fromSize = firstSeq; ; ) {
    const page = await store.checkpoints({ fromSize, limit: PAGE });
    for (const c of page) {
      out.push({ size: c.size, root: c.root, keyId: c.keyId, createdAt: c.createdAt, note: c.note });
      if (c.size >= lastSeq) return { checkpoints: out, covered: true };
    }
    if (page.length < PAGE) return { checkpoints: out, covered: false };
    fromSize = page[page.length - 1]!.size + 1;
  }
}
